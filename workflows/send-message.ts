import {
  condition,
  log,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { BookkeepingActivities } from '../activities/bookkeeping/bookkeeping-activities';
import type { CarrierActivities } from '../activities/carriers/carrier-activities';
import {
  cancelSignal,
  deliveryReceiptSignal,
  FINAL_STATUSES,
  getStatusQuery,
  INDEXED_STATUSES,
  MessageStatus,
  searchAttributes,
  type DeliveryReceiptSignal,
  type MessageStatusView,
  type SendMessageInput,
  type StatusEvent,
} from './definitions';
import { clientCallback, ErrorType } from './options';
import { pickSender, recordStatus, tokenizeMessage } from './message-steps';
import { dispatchDeadline } from '../domain/scheduling';
import {
  failoverCarriers,
  isPastDeadline,
  waitForSendTime,
  type ReceiptFailoverOptions,
} from './scheduling';
import { dispatchToCarriers, failureType } from './dispatch';
import { isSuppressed, scheduleMessagePurge } from './retention';
import { holdForVelocity, releaseUnbilledCharge } from './admission';
import { reviewBeforeSend, type ReviewGate } from './review';

// Summaries are what an operator reads in the Temporal UI's event history: fixed text, never a value.
const { notifyClient } = proxyActivities<BookkeepingActivities>({
  ...clientCallback,
  summary: "status callback to the client's URL",
});
const { routeCarriers } = proxyLocalActivities<CarrierActivities>({
  startToCloseTimeout: '5s',
  summary: "route: the carriers eligible for the recipient's country",
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

const FINAL_RECEIPTS = new Set([
  'delivered',
  'undeliverable',
  'expired',
  'rejected',
  'unknown',
  'deleted',
]);

/**
 * One message, from acceptance to a final status: tokenize (Vault), policy, review, pick a sender,
 * dispatch with retries and failover, await the receipt, record, notify, schedule the purge.
 * After `tokenize` it holds only tokens: the number and body exist in its input alone, which the
 * payload codec encrypts, and which the purge deletes with the history.
 */
export async function sendMessageWorkflow(
  input: SendMessageInput,
  options: SendMessageOptions = {},
): Promise<SendMessageResult> {
  const { to: _to, body: _body, ...meta } = input;
  const view: MessageStatusView = {
    messageId: meta.messageId,
    status: MessageStatus.ACCEPTED,
    segments: meta.segments,
    attempts: 0,
    history: [{ status: MessageStatus.ACCEPTED, at: new Date(meta.acceptedAt).toISOString() }],
  };
  const receipts = new Map<string, DeliveryReceiptSignal>();
  let cancelRequested = false;
  let submitted = false;
  let review: ReviewGate | undefined;

  setHandler(getStatusQuery, () => view);
  setHandler(deliveryReceiptSignal, (r) => {
    // A late intermediate receipt (a redelivered ENROUTE/ACCEPTD) never undoes a final one.
    const previous = receipts.get(r.carrierMessageId);
    if (previous && FINAL_RECEIPTS.has(previous.status) && !FINAL_RECEIPTS.has(r.status)) return;
    receipts.set(r.carrierMessageId, r);
  });
  setHandler(cancelSignal, () => {
    if (!submitted) cancelRequested = true;
  });

  const step = (status: MessageStatus, extra: Omit<StatusEvent, 'status' | 'at'> = {}) => {
    view.status = status;
    view.history.push({ status, at: new Date().toISOString(), ...extra });
    if (extra.carrier) view.carrier = extra.carrier;
    if (!INDEXED_STATUSES.includes(status)) return;
    // One upsert per indexed status, with the carrier once there is one (a visibility write each).
    upsertSearchAttributes([
      { key: searchAttributes.status, value: status },
      ...(status === MessageStatus.SUBMITTED && view.carrier
        ? [{ key: searchAttributes.carrier, value: view.carrier }]
        : []),
    ]);
  };

  const finish = async (status: MessageStatus, reason?: string): Promise<SendMessageResult> => {
    view.reason = reason;
    step(status, { carrier: view.carrier, detail: reason });
    await recordStatus({
      messageId: meta.messageId,
      status,
      carrier: view.carrier,
      reason,
      final: FINAL_STATUSES.includes(status),
    });
    await releaseUnbilledCharge(meta, status);
    await notify(status, reason);
    // 7. purge: due after the tenant's retention; the region's sweeper purges it (workflows/retention.ts).
    await scheduleMessagePurge({
      messageId: meta.messageId,
      tenant: meta.tenant,
      purpose: meta.purpose,
    });
    if (submitted)
      await review?.auditAfterDelivery({ status, carrier: view.carrier, sender: view.sender });
    return { status, carrier: view.carrier, reason };
  };

  const notify = async (status: MessageStatus, reason?: string) => {
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
  };

  // 1. tokenize: from here on the recipient is known only to PostgreSQL (sealed number, token), by message id.
  const tokenized = await tokenizeMessage({ ...meta, to: input.to, body: input.body });
  step(MessageStatus.TOKENIZED);
  // An erasure of the subject came after the acceptance: never sent, nothing stored but the redacted row.
  const endErased = () => finish(MessageStatus.CANCELLED, 'erased');
  if (tokenized.erased) return endErased();
  if (cancelRequested) return finish(MessageStatus.CANCELLED, 'cancelled_by_client');

  // 2. policy: suppression / opt-out (retention issue), schedule, validity and country velocity
  //    (sending-controls issue). Each lives in its own workflows/*.ts module, called from here.
  // Scheduled send (workflows/scheduling.ts): a durable wait, cancellable until it ends.
  const deadline = dispatchDeadline(meta);
  if (meta.sendAt !== undefined && meta.sendAt > Date.now()) {
    step(MessageStatus.SCHEDULED, { detail: `until ${new Date(meta.sendAt).toISOString()}` });
    await recordStatus({
      messageId: meta.messageId,
      status: MessageStatus.SCHEDULED,
      final: false,
    });
    if (await waitForSendTime(meta.sendAt, () => cancelRequested))
      return finish(MessageStatus.CANCELLED, 'cancelled_by_client');
  }
  // Opt-out (workflows/retention.ts), checked after any scheduled wait: the subscriber's choice at send time.
  if (await isSuppressed({ tenant: meta.tenant, purpose: meta.purpose, messageId: meta.messageId }))
    return finish(MessageStatus.SUPPRESSED, 'opted_out');
  if (await holdForVelocity(meta, { step, cancelled: () => cancelRequested }))
    return finish(MessageStatus.CANCELLED, 'cancelled_by_client');
  // 3. review: pre-send review (waits for the reviewDecision signal) and post-delivery audits.
  if (options.review) {
    review = await reviewBeforeSend({
      meta,
      step,
      record: (status) => recordStatus({ messageId: meta.messageId, status, final: false }),
    });
    if (review.rejected) return finish(MessageStatus.REJECTED_BY_REVIEW, review.reason);
    if (cancelRequested) return finish(MessageStatus.CANCELLED, 'cancelled_by_client');
  }

  // Validity: a message not dispatched in time ends `expired` and is never sent late.
  const expire = () => finish(MessageStatus.EXPIRED, 'validity_elapsed');
  if (isPastDeadline(deadline)) return expire();

  // 4. pick sender and route.
  let sender: { sender: string; notBefore: number; waitMs: number };
  try {
    sender = await pickSender({
      messageId: meta.messageId,
      tenant: meta.tenant,
      country: meta.country,
      purpose: meta.purpose,
      campaign: meta.campaign,
      requestedSender: meta.sender,
    });
  } catch (err) {
    return finish(MessageStatus.FAILED, failureType(err) ?? 'sender_unavailable');
  }
  view.sender = sender.sender;
  const { carriers } = await routeCarriers({ country: meta.country });
  step(MessageStatus.ROUTED, { detail: `sender reserved; ${carriers.length} carrier(s) eligible` });
  if (deadline !== undefined && sender.notBefore >= deadline) return expire();
  if (
    sender.waitMs > 0 &&
    (await condition(() => cancelRequested, sender.waitMs, {
      summary: "sender rate: wait for the pool number's next free slot",
    }))
  )
    return finish(MessageStatus.CANCELLED, 'cancelled_by_client');
  if (cancelRequested) return finish(MessageStatus.CANCELLED, 'cancelled_by_client');

  // 5. dispatch, failing over carrier by carrier and waiting within the validity while none can take
  //    it (workflows/dispatch.ts); 6. receipt. A failed receipt with a routable error code loops back
  //    here with the carriers after the one that failed.
  submitted = true;
  let candidates = carriers;
  let redispatches = 0;
  for (;;) {
    const outcome = await dispatchToCarriers({
      messageId: meta.messageId,
      sender: sender.sender,
      validitySeconds: meta.validitySeconds,
      deadline,
      carriers: candidates,
      onAttempt: () => view.attempts++,
    });
    if (outcome.kind === 'unsent') {
      if (outcome.reason === ErrorType.MESSAGE_ERASED) return endErased();
      if (outcome.reason === ErrorType.RECIPIENT_OPTED_OUT)
        return finish(MessageStatus.SUPPRESSED, 'opted_out');
      if (outcome.reason === ErrorType.VALIDITY_EXPIRED || isPastDeadline(deadline))
        return expire();
      return finish(MessageStatus.FAILED, outcome.reason);
    }
    const carrier = outcome.carrier;
    // A partial send: the parts a carrier took are reported, and their receipts decide the end.
    const ids =
      outcome.kind === 'submitted' ? outcome.result.carrierMessageIds : outcome.carrierMessageIds;
    step(MessageStatus.SUBMITTED, {
      carrier,
      detail:
        outcome.kind === 'submitted'
          ? `${outcome.result.parts} part(s)`
          : `${ids.length} of ${outcome.parts} part(s); the rest not sent (${outcome.reason})`,
    });

    // 6. receipt: every part sent must reach a final state, or the timeout ends the wait.
    const done = () => ids.every((id) => FINAL_RECEIPTS.has(receipts.get(id)?.status ?? ''));
    const timeoutMs = (options.receiptTimeoutSeconds ?? 3600) * 1000;
    if (
      !(await condition(done, timeoutMs, { summary: 'receipt: wait for every part to be final' }))
    )
      return finish(MessageStatus.UNCONFIRMED, 'receipt_timeout');
    const failed = ids.map((id) => receipts.get(id)!).find((r) => r.status !== 'delivered');
    if (outcome.kind === 'partial')
      // The handset holds an incomplete message: never `delivered`, whatever the sent parts' receipts say.
      return finish(
        MessageStatus.UNDELIVERED,
        failed
          ? `${failed.status}${failed.errorCode ? `:${failed.errorCode}` : ''}`
          : `partial_send:${ids.length}/${outcome.parts}`,
      );
    if (!failed) return finish(MessageStatus.DELIVERED);
    const reason = `${failed.status}${failed.errorCode ? `:${failed.errorCode}` : ''}`;
    const next = failoverCarriers(
      failed,
      carrier,
      candidates,
      redispatches,
      options.receiptFailover,
    );
    if (next.length === 0 || isPastDeadline(deadline))
      return finish(MessageStatus.UNDELIVERED, reason);
    // Failover on a failed receipt: the same message id, through the next carrier.
    redispatches++;
    step(MessageStatus.ROUTED, { carrier, detail: `failover after ${reason}` });
    await recordStatus({
      messageId: meta.messageId,
      status: MessageStatus.ROUTED,
      carrier,
      reason: `failover after ${reason}`,
      final: false,
    });
    candidates = next;
  }
}
