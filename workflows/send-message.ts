import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  log,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { BookkeepingActivities } from '../activities/bookkeeping';
import type { CarrierActivities, SubmitToCarrierResult } from '../activities/carriers';
import type { PoolActivities } from '../activities/pools';
import type { VaultActivities } from '../activities/vault';
import {
  cancelSignal,
  deliveryReceiptSignal,
  FINAL_STATUSES,
  getStatusQuery,
  MessageStatus,
  searchAttributes,
  type DeliveryReceiptSignal,
  type MessageStatusView,
  type SendMessageInput,
  type StatusEvent,
} from './definitions';
import { bookkeeping, carrierSubmit, clientCallback } from './options';
import { isSuppressed, scheduleMessagePurge } from './retention';

// Summaries are what an operator reads in the Temporal UI's event history: fixed text, never a value.
const { tokenizeMessage } = proxyActivities<VaultActivities>({
  ...bookkeeping,
  summary: 'tokenize: encrypt number and body in the region (Vault transit)',
});
const { pickSender } = proxyActivities<PoolActivities>({
  ...bookkeeping,
  summary: 'pick sender: reserve a pool number',
});
const { recordStatus } = proxyActivities<BookkeepingActivities>({
  ...bookkeeping,
  summary: 'record status (PostgreSQL)',
});
const { notifyClient } = proxyActivities<BookkeepingActivities>({
  ...clientCallback,
  summary: "status callback to the client's URL",
});
const { submitToCarrier } = proxyActivities<CarrierActivities>({
  ...carrierSubmit,
  summary: 'dispatch: decrypt just in time, submit to the carrier',
});
const { routeCarriers } = proxyLocalActivities<CarrierActivities>({ startToCloseTimeout: '5s' });

/** Options the API sets per message; defaults suit production. */
export interface SendMessageOptions {
  /** How long to wait for the final delivery receipt after submit. Default 1 hour. */
  receiptTimeoutSeconds?: number;
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
    requestFingerprint: meta.requestFingerprint,
  };
  const receipts = new Map<string, DeliveryReceiptSignal>();
  let cancelRequested = false;
  let submitted = false;

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
    upsertSearchAttributes([{ key: searchAttributes.status, value: status }]);
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
    await notify(status, reason);
    // 7. purge: due after the tenant's retention; the region's sweeper purges it (workflows/retention.ts).
    await scheduleMessagePurge({
      messageId: meta.messageId,
      tenant: meta.tenant,
      purpose: meta.purpose,
    });
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

  // 1. tokenize: from here on only the subscriber token identifies the recipient.
  const { subscriberToken } = await tokenizeMessage({ ...meta, to: input.to, body: input.body });
  step(MessageStatus.TOKENIZED);
  if (cancelRequested) return finish(MessageStatus.CANCELLED, 'cancelled_by_client');

  // 2. policy: suppression / opt-out (retention issue), schedule, validity and country velocity
  //    (sending-controls issue). Each lives in its own workflows/*.ts module, called from here.
  if (await isSuppressed({ tenant: meta.tenant, purpose: meta.purpose, subscriberToken }))
    return finish(MessageStatus.SUPPRESSED, 'opted_out');
  // 3. review: pre-send review (review issue), in workflows/review.ts, called from here.

  // 4. pick sender and route.
  let sender: { sender: string; notBefore: number };
  try {
    sender = await pickSender({
      messageId: meta.messageId,
      tenant: meta.tenant,
      country: meta.country,
      purpose: meta.purpose,
      campaign: meta.campaign,
      subscriberToken,
      requestedSender: meta.sender,
    });
  } catch (err) {
    return finish(MessageStatus.FAILED, failureType(err) ?? 'sender_unavailable');
  }
  view.sender = sender.sender;
  const { carriers } = await routeCarriers({ country: meta.country });
  step(MessageStatus.ROUTED, { detail: `sender reserved; ${carriers.length} carrier(s) eligible` });
  const wait = sender.notBefore - Date.now();
  if (wait > 0 && (await condition(() => cancelRequested, wait)))
    return finish(MessageStatus.CANCELLED, 'cancelled_by_client');
  if (cancelRequested) return finish(MessageStatus.CANCELLED, 'cancelled_by_client');

  // 5. dispatch, failing over carrier by carrier.
  submitted = true;
  let result: SubmitToCarrierResult | undefined;
  let carrier: string | undefined;
  let lastReason = 'no_carrier';
  for (const candidate of carriers) {
    view.attempts++;
    try {
      result = await submitToCarrier({
        messageId: meta.messageId,
        carrier: candidate,
        sender: sender.sender,
        validitySeconds: meta.validitySeconds,
      });
      carrier = candidate;
      break;
    } catch (err) {
      lastReason = failureType(err) ?? 'submit_failed';
      log.warn('carrier failed, trying the next', {
        messageId: meta.messageId,
        carrier: candidate,
        reason: lastReason,
      });
      if (lastReason === 'MESSAGE_PURGED') break;
    }
  }
  if (!result || !carrier) return finish(MessageStatus.FAILED, lastReason);
  step(MessageStatus.SUBMITTED, { carrier, detail: `${result.parts} part(s)` });
  upsertSearchAttributes([{ key: searchAttributes.carrier, value: carrier }]);

  // 6. receipt: every part must reach a final state, or the timeout ends the wait.
  const ids = result.carrierMessageIds;
  const done = () => ids.every((id) => FINAL_RECEIPTS.has(receipts.get(id)?.status ?? ''));
  const timeoutMs = (options.receiptTimeoutSeconds ?? 3600) * 1000;
  if (!(await condition(done, timeoutMs)))
    return finish(MessageStatus.UNCONFIRMED, 'receipt_timeout');
  const failed = ids.map((id) => receipts.get(id)!).find((r) => r.status !== 'delivered');
  if (failed)
    return finish(
      MessageStatus.UNDELIVERED,
      `${failed.status}${failed.errorCode ? `:${failed.errorCode}` : ''}`,
    );
  return finish(MessageStatus.DELIVERED);
}

/** The ApplicationFailure type behind an activity failure (e.g. CARRIER_PERMANENT), if any. */
function failureType(err: unknown): string | undefined {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure)
    return err.cause.type ?? undefined;
  return undefined;
}
