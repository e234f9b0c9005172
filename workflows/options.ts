/** Activity option presets: each sets its timeouts and lists the error types retrying cannot fix. */
import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';
import { ErrorType } from '../domain/error-types';

/** Vault and PostgreSQL bookkeeping: short, retried until they succeed (an outage only delays the message). */
export const bookkeeping: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '500ms',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    nonRetryableErrorTypes: [ErrorType.NO_SENDER_AVAILABLE, ErrorType.MESSAGE_PURGED],
  },
};

/**
 * The same bookkeeping, run as local activities: in the worker that runs the workflow task, recorded as
 * one marker, with no activity task through the server. A message's own steps (tokenize, opt-out check,
 * pick sender, status rows, purge scheduling) are short, idempotent database and Vault calls in the
 * region's worker, so they fit; a carrier submit (heartbeats, long retries) and client callbacks do not.
 * The benchmark (docs/benchmarks.md) measured the difference. After a minute of retries the backoff moves
 * to durable timers (the SDK's local retry threshold), so an outage still only delays the message.
 */
export const localBookkeeping: LocalActivityOptions = {
  startToCloseTimeout: bookkeeping.startToCloseTimeout,
  retry: bookkeeping.retry,
};

/**
 * One carrier submit: transient errors retry with backoff (throttling after the carrier's own delay),
 * permanent ones and an unreachable carrier (or an open circuit breaker) fail at once so the workflow
 * fails over to the next carrier, or waits and tries again within the validity (workflows/dispatch.ts).
 * The heartbeat timeout lets a retry start soon after a worker dies mid-submit. A message with a
 * validity also gets a schedule-to-close timeout ending at its deadline (workflows/scheduling.ts),
 * so no retry is even scheduled after it.
 */
export const carrierSubmit: ActivityOptions = {
  startToCloseTimeout: '2m',
  heartbeatTimeout: '15s',
  retry: {
    initialInterval: '500ms',
    backoffCoefficient: 2,
    maximumInterval: '10s',
    maximumAttempts: 6,
    nonRetryableErrorTypes: [
      ErrorType.CARRIER_PERMANENT,
      ErrorType.CARRIER_UNAVAILABLE,
      ErrorType.MESSAGE_PURGED,
      ErrorType.MESSAGE_ERASED,
      ErrorType.VALIDITY_EXPIRED,
      ErrorType.RECIPIENT_OPTED_OUT,
    ],
  },
};

/** Status callbacks to the client: retried with backoff for about a day, then given up (the status stays readable by GET). */
export const clientCallback: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '30m',
    maximumAttempts: 20,
    nonRetryableErrorTypes: [ErrorType.CALLBACK_REJECTED],
  },
};
