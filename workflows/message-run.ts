/**
 * The state of one SendMessage run and the moves every step shares: change the status, finish the
 * message (record, release, notify, schedule the purge, audit). Deterministic workflow code; the
 * steps themselves are in ./send-message.
 */
import { log, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { BookkeepingActivities } from '../activities/bookkeeping/bookkeeping-activities';
import { dispatchDeadline } from '../domain/scheduling';
import {
  cancelSignal,
  deliveryReceiptSignal,
  getStatusQuery,
  searchAttributes,
  type DeliveryReceiptSignal,
  type MessageStatusView,
  type SendMessageInput,
  type StatusEvent,
} from './definitions';
import { FINAL_STATUSES, INDEXED_STATUSES, MessageStatus } from '../domain/statuses';
import { FINAL_RECEIPT_STATUSES } from '../domain/receipts';
import { recordStatus } from './message-steps';
import { clientCallback } from './options';
import { scheduleMessagePurge } from './retention';
import type { ReviewGate } from './review';
import type { ReceiptFailoverOptions } from './scheduling';
import { releaseUnbilledCharge } from './admission';
import { STEP_SUMMARIES } from '../domain/step-summaries';

// Summaries are what an operator reads in the Temporal UI's event history: fixed text, never a value.
const { notifyClient } = proxyActivities<BookkeepingActivities>({
  ...clientCallback,
  summary: STEP_SUMMARIES.callback,
});

/** Options the API sets per message; defaults suit production. */
export interface SendMessageOptions {
  /** How long to wait for the final delivery receipt after submit. Default 1 hour. */
  receiptTimeoutSeconds?: number;
  /** Re-dispatch through the next carrier after a failed receipt with a routable error code. Default off. */
  receiptFailover?: ReceiptFailoverOptions;
  /** The tenant has a review policy (the API checks at acceptance): run the review step. Default false. */
  review?: boolean;
}

/** What the workflow returns when the message reaches a final status. */
export interface SendMessageResult {
  status: MessageStatus;
  carrier?: string;
  reason?: string;
}

/** Everything one run of SendMessage knows, shared by its steps. Holds no number and no body. */
export interface MessageRun {
  /** The input without `to` and `body` (older inputs carried them; only tokenize reads them). */
  meta: Omit<SendMessageInput, 'to' | 'body'>;
  input: SendMessageInput;
  options: SendMessageOptions;
  /** What the `getStatus` query answers. */
  view: MessageStatusView;
  /** The latest receipt per carrier message id (the `deliveryReceipt` signal). */
  receipts: Map<string, DeliveryReceiptSignal>;
  /** The `cancel` signal came before dispatch. */
  cancelRequested: boolean;
  /** Dispatch began: a cancel no longer applies, and the post-delivery audit runs. */
  submitted: boolean;
  /** The review step's gate, when the tenant has a review policy. */
  review?: ReviewGate;
  /** When the validity ends (ms), if the message has one. */
  deadline: number | undefined;
  /** The pool number reserved for this message and when it may be used. */
  sender?: { sender: string; notBefore: number; waitMs: number };
  /** Eligible carriers, in failover order. */
  carriers: readonly string[];
}

/** The run's state, with the query and signal handlers installed (before the first await). */
export function startRun(input: SendMessageInput, options: SendMessageOptions): MessageRun {
  const { to: _to, body: _body, ...meta } = input;
  const run: MessageRun = {
    meta,
    input,
    options,
    view: {
      messageId: meta.messageId,
      status: MessageStatus.ACCEPTED,
      segments: meta.segments,
      attempts: 0,
      history: [{ status: MessageStatus.ACCEPTED, at: new Date(meta.acceptedAt).toISOString() }],
    },
    receipts: new Map(),
    cancelRequested: false,
    submitted: false,
    deadline: dispatchDeadline(meta),
    carriers: [],
  };
  setHandler(getStatusQuery, () => run.view);
  setHandler(deliveryReceiptSignal, (r) => {
    // A late intermediate receipt (a redelivered ENROUTE/ACCEPTD) never undoes a final one.
    const previous = run.receipts.get(r.carrierMessageId);
    if (
      previous &&
      FINAL_RECEIPT_STATUSES.has(previous.status) &&
      !FINAL_RECEIPT_STATUSES.has(r.status)
    )
      return;
    run.receipts.set(r.carrierMessageId, r);
  });
  setHandler(cancelSignal, () => {
    if (!run.submitted) run.cancelRequested = true;
  });
  return run;
}

/**
 * Moves the message to `status` and appends it to the history the query shows; an indexed status is
 * also upserted as a search attribute (with the carrier once submitted): one visibility write each.
 */
export function markStatus(
  run: MessageRun,
  status: MessageStatus,
  extra: Omit<StatusEvent, 'status' | 'at'> = {},
): void {
  const { view } = run;
  view.status = status;
  view.history.push({ status, at: new Date().toISOString(), ...extra });
  if (extra.carrier) view.carrier = extra.carrier;
  if (!INDEXED_STATUSES.includes(status)) return;
  upsertSearchAttributes([
    { key: searchAttributes.status, value: status },
    ...(status === MessageStatus.SUBMITTED && view.carrier
      ? [{ key: searchAttributes.carrier, value: view.carrier }]
      : []),
  ]);
}

/**
 * The message's last step, whatever ended it: record the status, release an unbilled charge, call
 * the client back, schedule the purge (the region's sweeper purges it, workflows/retention.ts),
 * and run the post-delivery audit of a submitted message.
 */
export async function finish(
  run: MessageRun,
  status: MessageStatus,
  reason?: string,
): Promise<SendMessageResult> {
  const { meta, view } = run;
  view.reason = reason;
  markStatus(run, status, { carrier: view.carrier, detail: reason });
  await recordStatus({
    messageId: meta.messageId,
    status,
    carrier: view.carrier,
    reason,
    final: FINAL_STATUSES.includes(status),
  });
  await releaseUnbilledCharge(meta, status);
  await notify(run, status, reason);
  await scheduleMessagePurge({
    messageId: meta.messageId,
    tenant: meta.tenant,
    purpose: meta.purpose,
  });
  if (run.submitted)
    await run.review?.auditAfterDelivery({ status, carrier: view.carrier, sender: view.sender });
  return { status, carrier: view.carrier, reason };
}

/** Ends the message `cancelled` at the client's request. */
export const cancelled = (run: MessageRun) =>
  finish(run, MessageStatus.CANCELLED, 'cancelled_by_client');

/** Ends the message `cancelled`, reason `erased`: its subject's erasure came first; never sent. */
export const erased = (run: MessageRun) => finish(run, MessageStatus.CANCELLED, 'erased');

/** Ends the message `expired`: not dispatched within its validity, and never sent late. */
export const expired = (run: MessageRun) => finish(run, MessageStatus.EXPIRED, 'validity_elapsed');

/** The status callback, if the client gave a URL; a client endpoint that refuses is logged, never fatal. */
async function notify(run: MessageRun, status: MessageStatus, reason?: string): Promise<void> {
  const { meta } = run;
  if (!meta.callbackUrl) return;
  try {
    await notifyClient({
      messageId: meta.messageId,
      callbackUrl: meta.callbackUrl,
      status,
      reason,
      at: new Date().toISOString(),
    });
  } catch (err) {
    // The client's endpoint is down for good or refuses: the status stays readable through the API.
    log.warn('status callback abandoned', {
      messageId: meta.messageId,
      error: (err as Error).name,
    });
  }
}
