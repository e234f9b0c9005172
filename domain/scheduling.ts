/**
 * Scheduling (pure): scheduled sends, validity, and which failed receipts another route may fix.
 * The API validates with these, the workflow waits and expires with them.
 */

/** How far ahead `sendAt` may be. */
export const MAX_SCHEDULE_AHEAD_MS = 35 * 86_400_000;
/** A `sendAt` up to this far in the past (client clock skew) is sent at once; further back is refused. */
export const SCHEDULE_PAST_TOLERANCE_MS = 5 * 60_000;

/**
 * Validity bounds, seconds. One second is the SMPP relative-time resolution; short validities are
 * what OTP senders want ("no use after 30 s") and what tests use. Three days is what SMSCs commonly cap.
 */
export const VALIDITY_BOUNDS = { min: 1, max: 259_200 } as const;

/**
 * How long after an erasure a message accepted before it can still be dispatched, before any
 * stuck-after allowance: scheduled as far ahead as allowed, then valid as long as allowed. An erasure
 * tombstone is kept this long (plus `PURGE_STUCK_AFTER_SECONDS`), then dropped with its sealed number.
 */
export const TOMBSTONE_HORIZON_MS =
  MAX_SCHEDULE_AHEAD_MS + SCHEDULE_PAST_TOLERANCE_MS + VALIDITY_BOUNDS.max * 1000;

/** Default validity per purpose: a code is useless after minutes, an alert after a day, marketing after three. */
export const DEFAULT_VALIDITY_SECONDS = {
  otp: 300,
  transactional: 86_400,
  marketing: 259_200,
} as const satisfies Record<'otp' | 'transactional' | 'marketing', number>;

export type SendAtCheck =
  { ok: true; sendAt?: number } | { ok: false; reason: 'invalid' | 'past' | 'too_far' };

/**
 * Validates a client's `sendAt` (ISO 8601 with a time zone) against `now`. A time not in the future
 * (within the skew tolerance) means "send now" and yields no `sendAt`.
 */
export function checkSendAt(value: string | undefined, now: number): SendAtCheck {
  if (value === undefined) return { ok: true };
  // Date.parse accepts much more than ISO 8601; insist on a date, a time and a zone.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i.test(value))
    return { ok: false, reason: 'invalid' };
  const at = Date.parse(value);
  if (Number.isNaN(at)) return { ok: false, reason: 'invalid' };
  if (at < now - SCHEDULE_PAST_TOLERANCE_MS) return { ok: false, reason: 'past' };
  if (at > now + MAX_SCHEDULE_AHEAD_MS) return { ok: false, reason: 'too_far' };
  return at > now ? { ok: true, sendAt: at } : { ok: true };
}

/**
 * The last moment a message may be handed to a carrier (epoch ms): validity counts from the
 * scheduled time if there is one, else from acceptance. Undefined when the message has no validity.
 */
export function dispatchDeadline(m: {
  acceptedAt: number;
  sendAt?: number;
  validitySeconds?: number;
}): number | undefined {
  if (m.validitySeconds === undefined) return undefined;
  return Math.max(m.acceptedAt, m.sendAt ?? 0) + m.validitySeconds * 1000;
}

/**
 * When a message's personal data is due for purge at the latest, before its tenant's retention is
 * added: its dispatch deadline (or, with no validity, when it may first be sent) plus
 * `stuckAfterSeconds`, the longest it may still run after that (receipt waits, failover). Set from
 * the moment personal data is stored (admission, tokenize), so a message that is never started,
 * never finishes or ends without its purge step does not keep its ciphertexts forever.
 */
export function purgeBackstopBase(
  m: { acceptedAt: number; sendAt?: number; validitySeconds?: number },
  stuckAfterSeconds: number,
): number {
  return (dispatchDeadline(m) ?? Math.max(m.acceptedAt, m.sendAt ?? 0)) + stuckAfterSeconds * 1000;
}

/** The validity left at `now`, in whole seconds (rounded up, at least 1), for SMPP `validity_period`. */
export function remainingValiditySeconds(deadline: number, now: number): number {
  return Math.max(1, Math.ceil((deadline - now) / 1000));
}

/** Receipt error codes compared without leading zeros and case (`"012"`, `"12"` and `"0x0C"` differ; `"012"` = `"12"`). */
export const normalizeReceiptCode = (code: string): string =>
  code
    .trim()
    .toLowerCase()
    .replace(/^0+(?=.)/, '');

/**
 * True when a failed receipt names an error that another route may fix (per the configured codes):
 * the workflow then re-dispatches through the next carrier. Only `undeliverable` and `rejected`
 * receipts qualify: an `expired` one means the validity ran out, which another route cannot change.
 */
export function isRoutableReceiptFailure(
  receipt: { status: string; errorCode?: string },
  routableCodes: readonly string[],
): boolean {
  if (receipt.status !== 'undeliverable' && receipt.status !== 'rejected') return false;
  if (receipt.errorCode === undefined) return false;
  const code = normalizeReceiptCode(receipt.errorCode);
  return routableCodes.some((c) => normalizeReceiptCode(c) === code);
}
