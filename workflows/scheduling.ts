/**
 * Scheduling inside the SendMessage workflow: the durable wait for a scheduled send, the
 * validity deadline (never sent late), and the decision to fail over after a failed receipt.
 * Deterministic workflow code; the pure rules live in domain/scheduling.ts.
 */
import { RetryState } from '@temporalio/common';
import { ActivityFailure, condition, proxyActivities } from '@temporalio/workflow';
import type { CarrierActivities } from '../activities/carriers/carrier-activities';
import { isRoutableReceiptFailure } from '../domain/scheduling';
import type { DeliveryReceiptSignal } from './definitions';
import { carrierSubmit } from './options';
import { STEP_SUMMARIES } from '../domain/step-summaries';

/** Re-dispatch after a failed receipt (per-deployment config, passed by the API in the workflow options). */
export interface ReceiptFailoverOptions {
  /** Receipt error codes (SMPP `err:` / network error code) another route may fix. Empty = never. */
  errorCodes: string[];
  /** How many times one message may be re-dispatched through the next carrier. */
  maxRedispatches: number;
}

/**
 * Waits durably (a Temporal timer: days survive worker restarts) until `sendAt`, or until
 * `cancelled()` turns true. Returns true when cancelled. The personal data stays as it is during
 * the wait: Vault ciphertext in PostgreSQL, and the codec-encrypted workflow input.
 */
export async function waitForSendTime(sendAt: number, cancelled: () => boolean): Promise<boolean> {
  const wait = sendAt - Date.now();
  if (wait > 0) return condition(cancelled, wait, { summary: STEP_SUMMARIES.scheduledWait });
  return cancelled();
}

/** True once `deadline` (epoch ms) has passed, in workflow time; never for a message without validity. */
export const isPastDeadline = (deadline: number | undefined): boolean =>
  deadline !== undefined && Date.now() >= deadline;

/**
 * The carrier submit activity for a message with this deadline: the `carrierSubmit` preset plus a
 * schedule-to-close timeout ending at the deadline, so Temporal schedules no retry after it (the
 * activity itself refuses to send a part later, see `notAfter`).
 */
export function submitActivity(deadline: number | undefined) {
  // The summary is what an operator reads in the Temporal UI's event history: fixed text, never a value.
  const options = {
    ...carrierSubmit,
    summary: STEP_SUMMARIES.dispatch,
  };
  if (deadline === undefined) return proxyActivities<CarrierActivities>(options).submitToCarrier;
  const left = Math.max(1, deadline - Date.now());
  return proxyActivities<CarrierActivities>({ ...options, scheduleToCloseTimeout: left })
    .submitToCarrier;
}

/**
 * True when a carrier submit failed because its retries were cut by the validity deadline (the
 * schedule-to-close timeout of {@link submitActivity}), not because the carrier refused for good.
 */
export const cutByDeadline = (err: unknown, deadline: number | undefined): boolean =>
  deadline !== undefined && err instanceof ActivityFailure && err.retryState === RetryState.TIMEOUT;

/**
 * The carriers to re-dispatch through after `failed`, a final failed receipt from `carrier`: those
 * after it in `carriers`, when the receipt's error code is routable and the limit is not reached.
 * Empty when the message must end `undelivered`.
 */
export function failoverCarriers(
  failed: DeliveryReceiptSignal,
  carrier: string,
  carriers: readonly string[],
  redispatches: number,
  options: ReceiptFailoverOptions | undefined,
): string[] {
  if (!options || redispatches >= options.maxRedispatches) return [];
  if (!isRoutableReceiptFailure(failed, options.errorCodes)) return [];
  return carriers.slice(carriers.indexOf(carrier) + 1);
}
