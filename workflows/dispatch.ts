/**
 * Step 5 of the SendMessage workflow: hand the message to a carrier, carrier by carrier, and wait
 * for one to come back when none can take it now. Deterministic workflow code.
 *
 * How each failure of the submit activity is handled (the activity itself already retried
 * TRANSIENT and THROTTLED errors with backoff, and its adapter slowed down for throttling):
 * - PERMANENT: this carrier will never take this message; the next one is tried at once.
 * - UNAVAILABLE (not bound, circuit open), THROTTLED, TRANSIENT: the carrier may take it later.
 *   The next carrier is tried at once; when every carrier left is in that state, the message waits
 *   (a durable timer, backoff with jitter, at least what a circuit breaker asked for) and tries
 *   again, until its validity ends: then it is `expired`, never `failed`.
 * - VALIDITY_EXPIRED, MESSAGE_PURGED, MESSAGE_ERASED, OPTED_OUT: the message is done.
 * Once a carrier has acknowledged some parts, only that carrier may send the rest (the handset
 * joins parts of one route only); if it never does, the outcome is a partial send the workflow
 * reports with what was sent.
 */
import { ActivityFailure, ApplicationFailure, log, sleep } from '@temporalio/workflow';
import type {
  SubmitFailureDetails,
  SubmitToCarrierResult,
} from '../activities/carriers/carrier-activities';
import { ErrorType } from '../domain/error-types';
import { cutByDeadline, isPastDeadline, submitActivity } from './scheduling';

/** How a message waits for a carrier that cannot take it now. */
export const CARRIER_WAIT = {
  /** First wait, doubled after every round in which no carrier took the message. */
  initialMs: 1_000,
  /** Longest wait between rounds (also bounds how late a message notices a carrier is back). */
  maxMs: 60_000,
  /** Rounds for a message without a validity (none comes from the API; older inputs). */
  roundsWithoutValidity: 8,
} as const;

/** What step 5 ended with. */
export type DispatchOutcome =
  | { kind: 'submitted'; carrier: string; result: SubmitToCarrierResult }
  /** `carrier` acknowledged some parts (their ids, in part order) and will not take the rest. */
  | { kind: 'partial'; carrier: string; carrierMessageIds: string[]; parts: number; reason: string }
  /** Nothing was sent. */
  | { kind: 'unsent'; reason: string };

export interface DispatchInput {
  messageId: string;
  sender: string;
  validitySeconds?: number;
  deadline: number | undefined;
  /** Eligible carriers, in failover order. */
  carriers: readonly string[];
  /** Called before each submit (the status view counts carriers tried). */
  onAttempt(): void;
}

/** Reasons after which no carrier is tried again. */
const FINAL_REASONS = new Set<string>([
  ErrorType.MESSAGE_PURGED,
  ErrorType.MESSAGE_ERASED,
  ErrorType.VALIDITY_EXPIRED,
  ErrorType.RECIPIENT_OPTED_OUT,
]);

/** Dispatches the message (see the module comment); never throws for a carrier's failure. */
export async function dispatchToCarriers(input: DispatchInput): Promise<DispatchOutcome> {
  const { deadline } = input;
  let remaining = [...input.carriers];
  let partial: { carrier: string; acked: Record<number, string>; parts: number } | undefined;
  let lastReason = 'no_carrier';
  let waitMs: number = CARRIER_WAIT.initialMs;
  const unsentOrPartial = (reason: string): DispatchOutcome =>
    partial
      ? {
          kind: 'partial',
          carrier: partial.carrier,
          carrierMessageIds: Object.keys(partial.acked)
            .map(Number)
            .sort((a, b) => a - b)
            .map((i) => partial!.acked[i]!),
          parts: partial.parts,
          reason,
        }
      : { kind: 'unsent', reason };

  for (let round = 1; ; round++) {
    // Parts already on a carrier pin the message to it.
    const order = partial ? [partial.carrier] : remaining;
    let hint: number | undefined;
    let everyHinted = true;
    for (const carrier of order) {
      if (isPastDeadline(deadline)) break;
      input.onAttempt();
      try {
        const result = await submitActivity(deadline)({
          messageId: input.messageId,
          carrier,
          sender: input.sender,
          validitySeconds: input.validitySeconds,
          notAfter: deadline,
        });
        return { kind: 'submitted', carrier, result };
      } catch (err) {
        const reason = cutByDeadline(err, deadline)
          ? ErrorType.VALIDITY_EXPIRED
          : (failureType(err) ?? 'submit_failed');
        lastReason = reason;
        const details = failureDetails(err);
        if (details && Object.keys(details.ackedParts).length > 0)
          partial = { carrier, acked: details.ackedParts, parts: details.parts };
        log.warn('carrier did not take the message', {
          messageId: input.messageId,
          carrier,
          reason,
        });
        if (FINAL_REASONS.has(reason)) return unsentOrPartial(reason);
        if (reason === ErrorType.CARRIER_PERMANENT) {
          if (partial?.carrier === carrier) return unsentOrPartial(reason);
          remaining = remaining.filter((c) => c !== carrier);
          continue;
        }
        if (details?.retryAfterMs === undefined) everyHinted = false;
        else hint = Math.min(hint ?? Infinity, details.retryAfterMs);
      }
    }
    if (!partial && remaining.length === 0) return { kind: 'unsent', reason: lastReason };
    if (isPastDeadline(deadline)) return unsentOrPartial(ErrorType.VALIDITY_EXPIRED);
    if (deadline === undefined && round >= CARRIER_WAIT.roundsWithoutValidity)
      return unsentOrPartial(lastReason);
    // Every carrier left may take it later: wait, within the validity. Math.random is deterministic here.
    const base = everyHinted && hint !== undefined ? Math.max(waitMs, hint) : waitMs;
    let wait = Math.min(CARRIER_WAIT.maxMs, Math.round(base * (0.8 + 0.4 * Math.random())));
    if (deadline !== undefined) wait = Math.min(wait, Math.max(1, deadline - Date.now()));
    log.info('no carrier can take the message now; waiting', {
      messageId: input.messageId,
      reason: lastReason,
      waitMs: wait,
    });
    await sleep(wait);
    waitMs = Math.min(CARRIER_WAIT.maxMs, waitMs * 2);
  }
}

/**
 * The ApplicationFailure type behind an activity failure (e.g. CARRIER_PERMANENT), if any. An activity
 * fails with an ActivityFailure whose cause is the ApplicationFailure; a local activity (pickSender)
 * fails with the ApplicationFailure itself.
 */
export function failureType(err: unknown): string | undefined {
  if (err instanceof ApplicationFailure) return err.type ?? undefined;
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure)
    return err.cause.type ?? undefined;
  return undefined;
}

/** The submit activity's {@link SubmitFailureDetails}, from the first ApplicationFailure in the cause chain. */
function failureDetails(err: unknown): SubmitFailureDetails | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; depth++) {
    if (e instanceof ApplicationFailure) {
      const d = e.details?.[0] as Partial<SubmitFailureDetails> | undefined;
      if (d && typeof d === 'object' && d.ackedParts && typeof d.parts === 'number')
        return d as SubmitFailureDetails;
      return undefined;
    }
    e = e.cause;
  }
  return undefined;
}
