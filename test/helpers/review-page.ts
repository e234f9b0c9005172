import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { needleVariants } from '../../scripts/leak-scan';
import { launchChromium } from './browser';
import { startPipeline, type Pipeline } from './pipeline';
import {
  digits,
  newReviewer,
  sendMessage,
  setReviewPolicy,
  waitForStatus,
  type Reviewer,
} from './review';

/** A message held for review, and what of it must never reach the reviewer's browser. */
export interface HeldMessage {
  id: string;
  to: string;
  code: string;
}

/**
 * What the reviewer-page browser tests share: a pipeline with review policies, a reviewer of its
 * tenant, headless Chromium with one page, and a list of needles (numbers in every written form,
 * codes) that the page must never show.
 */
export interface ReviewPageFixture {
  p: Pipeline;
  reviewer: Reviewer;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Strings that must never appear in the page, its URLs or its requests. */
  needles: string[];
  /**
   * Sends an OTP to a fresh GB number with a fresh code (`body` builds the text from the code),
   * adds the number's variants and `needle(code)` to the needles, and waits until it is in review.
   */
  sendHeld(options: {
    purpose?: string;
    campaign?: string;
    body?: (code: string) => string;
    needle?: (code: string) => string;
    /** False: return at once, without waiting for `in_review`. */
    waitInReview?: boolean;
  }): Promise<HeldMessage>;
  close(): Promise<void>;
}

/** A fresh six-digit code that does not start with 0. */
const freshCode = () => `${1 + Math.floor(Math.random() * 9)}${digits(5)}`;

/**
 * Starts the pipeline, sets each review policy (PUT /v1/review-policies as the admin), makes a
 * reviewer and opens Chromium with a 1024×900 page (`context` adds options, e.g. a time zone).
 */
export async function startReviewPage(options: {
  policies: Record<string, unknown>[];
  context?: BrowserContextOptions;
}): Promise<ReviewPageFixture> {
  const p = await startPipeline();
  const reviewer = await newReviewer(p);
  for (const policy of options.policies) await setReviewPolicy(p, policy);
  const browser = await launchChromium();
  const context = await browser.newContext({
    viewport: { width: 1024, height: 900 },
    ...options.context,
  });
  const page = await context.newPage();
  const needles: string[] = [];
  return {
    p,
    reviewer,
    browser,
    context,
    page,
    needles,
    async sendHeld({
      purpose = 'otp',
      campaign,
      body = (code) => `[Acme] Your login code is ${code}.`,
      needle = (code) => code,
      waitInReview = true,
    }) {
      const to = `+447400${digits(6)}`;
      const code = freshCode();
      needles.push(...needleVariants(to), needle(code));
      const id = await sendMessage(p, {
        to,
        body: body(code),
        purpose,
        ...(campaign ? { campaign } : {}),
      });
      if (waitInReview) await waitForStatus(p, id, 'in_review');
      return { id, to, code };
    },
    async close() {
      await browser.close();
      await p.close();
    },
  };
}
