/**
 * Human review for outsourced QA, the pure part: policies, the sampling decision, sender
 * signatures and templates, reason codes. No I/O; the review activities and the API use it.
 */
import { maskCodes, redactForPeople } from './masking';

/** When a reviewer looks: before dispatch (the message waits) or after the receipt (an audit). */
export const ReviewMode = { PRE_SEND: 'pre_send', POST_DELIVERY: 'post_delivery' } as const;
export type ReviewMode = (typeof ReviewMode)[keyof typeof ReviewMode];

export const VERDICTS = ['approve', 'reject'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** Why a reviewer decided as they did: codes only, so a decision never carries free text but the note. */
export const REASON_CODES = [
  'ok',
  'wrong_sender',
  'wrong_template',
  'rendering',
  'content_policy',
  'other',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

/** The longest note a reviewer may add (masked before it is stored or signalled). */
export const MAX_NOTE_LENGTH = 500;

/** A tenant's (or one campaign's) review policy. */
export interface ReviewPolicy {
  /** Share of messages sampled at random, 0..1. */
  sampleRate: number;
  /** Always review the first N messages of a sender signature the tenant has not used before (0 = off). */
  firstNNewSignature: number;
  /** Always review the first N messages of a template the tenant has not used before (0 = off). */
  firstNNewTemplate: number;
  /** Always review a body (codes masked) containing one of these phrases, case-insensitive. */
  flagPhrases: readonly string[];
  mode: ReviewMode;
  /** How long a task may wait for a reviewer before the default decision applies. */
  slaSeconds: number;
  defaultDecision: Verdict;
}

/**
 * SLA and default decision when a policy does not set them, per mode: a pre-send review holds a
 * message, so it waits 15 minutes and then lets it go; a post-delivery audit has a day.
 */
export const MODE_DEFAULTS: Record<ReviewMode, { slaSeconds: number; defaultDecision: Verdict }> = {
  pre_send: { slaSeconds: 900, defaultDecision: 'approve' },
  post_delivery: { slaSeconds: 86_400, defaultDecision: 'approve' },
};

/** What the sampler knows about one message. */
export interface ReviewFacts {
  /** How many messages with this sender signature the tenant had before, this one included. */
  signatureSeen?: number;
  /** How many messages with this template the tenant had before, this one included. */
  templateSeen: number;
  /** The body as a reviewer sees it (`redactForPeople`). */
  maskedBody: string;
  /** A uniform random number in [0, 1). */
  random: number;
}

/** Why a message is reviewed, in the order the rules are checked; undefined when it is not. */
export type ReviewTrigger = 'new_signature' | 'new_template' | 'flagged' | 'sampled';

/** Decides whether a message goes to review, and names the rule that sent it there. */
export function reviewTrigger(policy: ReviewPolicy, facts: ReviewFacts): ReviewTrigger | undefined {
  if (facts.signatureSeen !== undefined && facts.signatureSeen <= policy.firstNNewSignature)
    return 'new_signature';
  if (facts.templateSeen <= policy.firstNNewTemplate) return 'new_template';
  const body = facts.maskedBody.toLowerCase();
  if (policy.flagPhrases.some((p) => p.trim() && body.includes(p.trim().toLowerCase())))
    return 'flagged';
  if (facts.random < policy.sampleRate) return 'sampled';
  return undefined;
}

const BRACKETED =
  /^\s*(【[^【】]{1,40}】|\[[^[\]]{1,40}\])|(【[^【】]{1,40}】|\[[^[\]]{1,40}\])\s*$/;
const PREFIXED = /^\s*([A-Z][A-Za-z0-9 &.'-]{1,30}):\s/;

/**
 * The sender signature of a body: a bracketed brand at its start or end (`【招商银行】`, `[Acme]`),
 * else a leading `Brand:` prefix. Undefined when there is none. Codes are masked in it too.
 */
export function senderSignature(body: string): string | undefined {
  const b = BRACKETED.exec(body);
  const found = b ? (b[1] ?? b[2]) : PREFIXED.exec(body)?.[1];
  return found === undefined ? undefined : maskCodes(found.trim());
}

/**
 * The template of a body: codes masked, then every digit replaced by `#` and white space collapsed,
 * so messages that differ only in their code, amount or time share one template. It never contains
 * a digit, so neither a code nor a phone number survives in it.
 */
export function templateOf(body: string): string {
  return maskCodes(body)
    .replace(/\p{Nd}/gu, '#')
    .replace(/\s+/g, ' ')
    .trim();
}

/** A reviewer's note made fit to store and signal: redacted for people (`redactForPeople`), length capped. */
export function maskNote(note: string | undefined): string {
  return redactForPeople((note ?? '').slice(0, MAX_NOTE_LENGTH)).trim();
}
