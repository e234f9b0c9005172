import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { CODE_MASK } from '../../domain/masking';
import type { Pipeline } from '../helpers/pipeline';
import { startReviewPage, type ReviewPageFixture } from '../helpers/review-page';
import type { Reviewer } from '../helpers/review';

/**
 * The reviewer page at /review in headless Chromium, driven with the keyboard alone: sign in with a
 * reviewer key, claim the held message, approve it (delivered), claim the next, reject it (never
 * reaches the carrier); a third message times out and gets its policy's default. Throughout, no
 * number or code in the page's HTML, its storage, its URLs or its requests.
 */
const OUTPUT = join(__dirname, '..', '..', 'test-output');

/** The page's globals, for functions run in the browser (this project's TypeScript has no DOM types). */
type BrowserGlobals = {
  document: { activeElement: { id: string } | null };
  localStorage: { length: number };
  sessionStorage: { length: number };
};

describe('the reviewer page, keyboard only, with nothing personal in the browser', () => {
  let f: ReviewPageFixture;
  let p: Pipeline;
  let reviewer: Reviewer;
  let context: BrowserContext;
  let page: Page;
  let needles: string[];
  const requested: string[] = [];
  const reached = (to: string) => p.smscs[0]!.received.some((r) => r.destination === to);

  const send = (options: { campaign?: string; waitInReview?: boolean } = {}) =>
    f.sendHeld({
      ...options,
      body: (code) => `[Acme] Your login code is ${code}. Valid for 5 minutes.`,
      needle: (code) => `is ${code}.`,
    });

  const focused = () =>
    page.evaluate(() => (globalThis as unknown as BrowserGlobals).document.activeElement?.id ?? '');
  const expectNothingPersonal = async () => {
    const html = await page.content();
    for (const n of needles) expect(html).not.toContain(n);
    expect(page.url()).toBe(`${p.base}/review`);
    const storage = await page.evaluate(() => {
      const g = globalThis as unknown as BrowserGlobals;
      return g.localStorage.length + g.sessionStorage.length;
    });
    expect(storage).toBe(0);
    for (const url of requested) for (const n of needles) expect(url).not.toContain(n);
  };
  const status = () => page.locator('#status');

  beforeAll(async () => {
    f = await startReviewPage({
      policies: [
        { mode: 'pre_send', sampleRate: 1, slaSeconds: 600 },
        {
          campaign: 'hurry',
          mode: 'pre_send',
          sampleRate: 1,
          slaSeconds: 3,
          defaultDecision: 'approve',
        },
      ],
    });
    ({ p, reviewer, context, page, needles } = f);
    page.on('request', (r) => requested.push(r.url()));
  }, 90_000);

  afterAll(async () => {
    await f?.close();
  });

  test('sign in, claim, approve with the keyboard: the held message is delivered', async () => {
    const res = await page.goto(`${p.base}/review`);
    expect(res?.status()).toBe(200);
    const csp = res?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe');

    // Signed out: the page focuses the key field.
    await page.locator('#signin').waitFor();
    await page.waitForFunction(
      () => (globalThis as unknown as BrowserGlobals).document.activeElement?.id === 'key',
    );
    await page.keyboard.type(reviewer.secret);
    await page.keyboard.press('Enter');
    await status().getByText('Signed in.').waitFor();
    expect(await page.inputValue('#key')).toBe('');
    const cookies = await context.cookies(`${p.base}/review`);
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({
      name: 'review_session',
      path: '/review',
      httpOnly: true,
      sameSite: 'Strict',
    });
    expect(cookies[0]!.value).not.toContain(reviewer.secret);
    await page.waitForFunction(
      () => (globalThis as unknown as BrowserGlobals).document.activeElement?.id === 'claim',
    );

    needles.push(reviewer.secret);
    const m = await send();
    await page.keyboard.press('Enter'); // Claim next task
    await page.locator('#task').waitFor();
    expect(await focused()).toBe('task-title');
    const body = await page.locator('#body').innerText();
    expect(body).toBe(`[Acme] Your login code is ${CODE_MASK}. Valid for 5 minutes.`);
    expect(await page.locator('#fields').innerText()).toContain('Destination country');
    expect(await page.locator('#fields').innerText()).toContain('GB');
    await expectNothingPersonal();
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'review-page-task.png'), fullPage: true });

    // Tab order: reason, note, Approve.
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('reason');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('note');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('approve');
    await page.keyboard.press('Enter');
    await status().getByText('Approved.').waitFor();
    expect(await page.locator('#task').isHidden()).toBe(true);
    expect(await page.locator('#body').innerText()).toBe('');

    expect((await p.waitFinal([m.id])).get(m.id)?.status).toBe('delivered');
    expect(reached(m.to)).toBe(true);
    await expectNothingPersonal();
  });

  test('claim the next one and reject it with a reason: it never reaches the carrier', async () => {
    const m = await send();
    await page.waitForFunction(
      () => (globalThis as unknown as BrowserGlobals).document.activeElement?.id === 'claim',
    );
    await page.keyboard.press('Enter');
    await page.locator('#task').waitFor();
    await page.keyboard.press('Tab'); // reason
    await page.keyboard.press('ArrowDown'); // wrong_sender
    expect(await page.inputValue('#reason')).toBe('wrong_sender');
    await page.keyboard.press('Tab'); // note
    await page.keyboard.type(`sender looks off; code ${m.code}`);
    await page.keyboard.press('Tab'); // approve
    await page.keyboard.press('Tab'); // reject
    expect(await focused()).toBe('reject');
    await page.keyboard.press('Enter');
    await status().getByText('Rejected.').waitFor();

    expect((await p.waitFinal([m.id])).get(m.id)).toMatchObject({
      status: 'rejected_by_review',
      reason: 'review_reject:wrong_sender',
    });
    expect(reached(m.to)).toBe(false);
    const { rows } = await p.db.query(
      'select note_masked from review_tasks where message_id = $1',
      [m.id],
    );
    expect(rows[0].note_masked).toBe(`sender looks off; code ${CODE_MASK}`);
    await expectNothingPersonal();
  });

  test('a message nobody claims gets the default decision when its SLA runs out', async () => {
    const m = await send({ campaign: 'hurry', waitInReview: false });
    const final = await p.waitFinal([m.id]);
    expect(final.get(m.id)?.status).toBe('delivered');
    const history = (
      final.get(m.id) as unknown as { history: { status: string; detail?: string }[] }
    ).history;
    expect(history).toContainEqual(
      expect.objectContaining({
        status: 'in_review',
        detail: 'pre_send review: no decision within the SLA, default approve applied',
      }),
    );
    // The page never showed it and has nothing to claim now.
    await page.keyboard.press('Enter');
    await status().getByText('No task to claim right now.').waitFor();
    await expectNothingPersonal();
  });
});
