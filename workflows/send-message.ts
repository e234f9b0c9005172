/**
 * SendMessage: one message, from acceptance to a final status, as named steps over one
 * {@link MessageRun}. Each step either lets the message go on (returns undefined) or ends it (returns
 * the final result). The order of {@link SEND_STEPS} is the order of the commands in every running
 * message's history: change it only behind `patched()` (docs/workflow-evolution.md).
 */
import { condition, proxyLocalActivities } from '@temporalio/workflow';
import type { CarrierActivities } from '../activities/carriers/carrier-activities';
import type { DeliveryReceiptSignal, SendMessageInput } from './definitions';
import { MessageStatus } from '../domain/statuses';
import { dispatchToCarriers, failureType, type DispatchOutcome } from './dispatch';
import {
  cancelled,
  erased,
  expired,
  finish,
  markStatus,
  startRun,
  type MessageRun,
  type SendMessageOptions,
  type SendMessageResult,
} from './message-run';
import { pickSender, recordStatus, tokenizeMessage } from './message-steps';
import { FINAL_RECEIPT_STATUSES } from '../domain/receipts';
import { ErrorType } from '../domain/error-types';
import { isSuppressed } from './retention';
import { reviewBeforeSend } from './review';
import { failoverCarriers, isPastDeadline, waitForSendTime } from './scheduling';
import { holdForVelocity } from './admission';
import { STEP_SUMMARIES } from '../domain/step-summaries';

export type { SendMessageOptions, SendMessageResult } from './message-run';

const { routeCarriers } = proxyLocalActivities<CarrierActivities>({
  startToCloseTimeout: '5s',
  summary: STEP_SUMMARIES.route,
});

/** A step of SendMessage: undefined lets the message go on, a result ends it. */
export type SendStep = (run: MessageRun) => Promise<SendMessageResult | undefined>;

/** 1. tokenize: from here on the recipient is known only to PostgreSQL (sealed number, token), by message id. */
export const tokenize: SendStep = async (run) => {
  const { meta, input } = run;
  const tokenized = await tokenizeMessage({ ...meta, to: input.to, body: input.body });
  markStatus(run, MessageStatus.TOKENIZED);
  // An erasure of the subject came after the acceptance: never sent, nothing stored but the redacted row.
  if (tokenized.erased) return erased(run);
  if (run.cancelRequested) return cancelled(run);
  return undefined;
};

/** 2a. scheduled send (workflows/scheduling.ts): a durable wait, cancellable until it ends. */
export const waitForSchedule: SendStep = async (run) => {
  const { meta } = run;
  if (meta.sendAt === undefined || meta.sendAt <= Date.now()) return undefined;
  markStatus(run, MessageStatus.SCHEDULED, {
    detail: `until ${new Date(meta.sendAt).toISOString()}`,
  });
  await recordStatus({ messageId: meta.messageId, status: MessageStatus.SCHEDULED, final: false });
  if (await waitForSendTime(meta.sendAt, () => run.cancelRequested)) return cancelled(run);
  return undefined;
};

/** 2b. opt-out (workflows/retention.ts), after any scheduled wait: the subscriber's choice at send time. */
export const checkOptOut: SendStep = async (run) => {
  const { tenant, purpose, messageId } = run.meta;
  if (await isSuppressed({ tenant, purpose, messageId }))
    return finish(run, MessageStatus.SUPPRESSED, 'opted_out');
  return undefined;
};

/** 2c. country velocity (workflows/admission.ts): an otp over its country's rate waits for its window. */
export const holdVelocity: SendStep = async (run) => {
  const step = markStatus.bind(undefined, run);
  if (await holdForVelocity(run.meta, { step, cancelled: () => run.cancelRequested }))
    return cancelled(run);
  return undefined;
};

/** 3. review: pre-send review (waits for the reviewDecision signal); post-delivery audits run in `finish`. */
export const review: SendStep = async (run) => {
  if (!run.options.review) return undefined;
  const { meta } = run;
  run.review = await reviewBeforeSend({
    meta,
    step: markStatus.bind(undefined, run),
    record: (status) => recordStatus({ messageId: meta.messageId, status, final: false }),
  });
  if (run.review.rejected) return finish(run, MessageStatus.REJECTED_BY_REVIEW, run.review.reason);
  if (run.cancelRequested) return cancelled(run);
  return undefined;
};

/** Validity: a message not dispatched in time ends `expired` and is never sent late. */
export const checkValidity: SendStep = async (run) =>
  isPastDeadline(run.deadline) ? expired(run) : undefined;

/** 4a. pick sender: reserve a pool number (its rate decides when it may be used). */
export const reserveSender: SendStep = async (run) => {
  const { meta } = run;
  try {
    run.sender = await pickSender({
      messageId: meta.messageId,
      tenant: meta.tenant,
      country: meta.country,
      purpose: meta.purpose,
      campaign: meta.campaign,
      requestedSender: meta.sender,
    });
  } catch (err) {
    return finish(run, MessageStatus.FAILED, failureType(err) ?? 'sender_unavailable');
  }
  run.view.sender = run.sender.sender;
  return undefined;
};

/** 4b. route: the carriers eligible for the recipient's country, in failover order. */
export const route: SendStep = async (run) => {
  ({ carriers: run.carriers } = await routeCarriers({ country: run.meta.country }));
  markStatus(run, MessageStatus.ROUTED, {
    detail: `sender reserved; ${run.carriers.length} carrier(s) eligible`,
  });
  return undefined;
};

/** 4c. the sender's rate: wait for the pool number's next free slot, within the validity. */
export const waitForSenderSlot: SendStep = async (run) => {
  const sender = run.sender!;
  if (run.deadline !== undefined && sender.notBefore >= run.deadline) return expired(run);
  if (
    sender.waitMs > 0 &&
    (await condition(() => run.cancelRequested, sender.waitMs, {
      summary: STEP_SUMMARIES.senderRateWait,
    }))
  )
    return cancelled(run);
  if (run.cancelRequested) return cancelled(run);
  return undefined;
};

/** How a dispatch that sent nothing ends the message. */
function endUnsent(run: MessageRun, reason: string): Promise<SendMessageResult> {
  if (reason === ErrorType.MESSAGE_ERASED) return erased(run);
  if (reason === ErrorType.RECIPIENT_OPTED_OUT)
    return finish(run, MessageStatus.SUPPRESSED, 'opted_out');
  if (reason === ErrorType.VALIDITY_EXPIRED || isPastDeadline(run.deadline)) return expired(run);
  return finish(run, MessageStatus.FAILED, reason);
}

const receiptReason = (r: DeliveryReceiptSignal) =>
  `${r.status}${r.errorCode ? `:${r.errorCode}` : ''}`;

/**
 * 6. receipt: waits until every part sent is final (or the timeout ends the wait). Ends the message,
 * or returns the failed receipt that may fail over to the next carrier.
 */
async function awaitReceipts(
  run: MessageRun,
  outcome: Exclude<DispatchOutcome, { kind: 'unsent' }>,
): Promise<SendMessageResult | { failed: DeliveryReceiptSignal }> {
  // A partial send: the parts a carrier took are reported, and their receipts decide the end.
  const ids =
    outcome.kind === 'submitted' ? outcome.result.carrierMessageIds : outcome.carrierMessageIds;
  markStatus(run, MessageStatus.SUBMITTED, {
    carrier: outcome.carrier,
    detail:
      outcome.kind === 'submitted'
        ? `${outcome.result.parts} part(s)`
        : `${ids.length} of ${outcome.parts} part(s); the rest not sent (${outcome.reason})`,
  });
  const done = () =>
    ids.every((id) => FINAL_RECEIPT_STATUSES.has(run.receipts.get(id)?.status ?? ''));
  const timeoutMs = (run.options.receiptTimeoutSeconds ?? 3600) * 1000;
  if (!(await condition(done, timeoutMs, { summary: STEP_SUMMARIES.receiptWait })))
    return finish(run, MessageStatus.UNCONFIRMED, 'receipt_timeout');
  const failed = ids.map((id) => run.receipts.get(id)!).find((r) => r.status !== 'delivered');
  if (outcome.kind === 'partial')
    // The handset holds an incomplete message: never `delivered`, whatever the sent parts' receipts say.
    return finish(
      run,
      MessageStatus.UNDELIVERED,
      failed ? receiptReason(failed) : `partial_send:${ids.length}/${outcome.parts}`,
    );
  if (!failed) return finish(run, MessageStatus.DELIVERED);
  return { failed };
}

/**
 * 5. dispatch, failing over carrier by carrier and waiting within the validity while none can take
 * it (workflows/dispatch.ts); 6. receipt. A failed receipt with a routable error code loops back to
 * the dispatch with the carriers after the one that failed (same message id).
 */
export async function dispatchUntilFinal(run: MessageRun): Promise<SendMessageResult> {
  const { meta, view } = run;
  run.submitted = true;
  let candidates = run.carriers;
  for (let redispatches = 0; ; redispatches++) {
    const outcome = await dispatchToCarriers({
      messageId: meta.messageId,
      sender: run.sender!.sender,
      validitySeconds: meta.validitySeconds,
      deadline: run.deadline,
      carriers: candidates,
      onAttempt: () => view.attempts++,
    });
    if (outcome.kind === 'unsent') return endUnsent(run, outcome.reason);
    const ended = await awaitReceipts(run, outcome);
    if (!('failed' in ended)) return ended;
    const reason = receiptReason(ended.failed);
    const { carrier } = outcome;
    const next = failoverCarriers(
      ended.failed,
      carrier,
      candidates,
      redispatches,
      run.options.receiptFailover,
    );
    if (next.length === 0 || isPastDeadline(run.deadline))
      return finish(run, MessageStatus.UNDELIVERED, reason);
    markStatus(run, MessageStatus.ROUTED, { carrier, detail: `failover after ${reason}` });
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

/** The steps before dispatch, in the order every running message's history has them. */
export const SEND_STEPS: readonly SendStep[] = [
  tokenize,
  waitForSchedule,
  checkOptOut,
  holdVelocity,
  review,
  checkValidity,
  reserveSender,
  route,
  waitForSenderSlot,
];

/** Runs `steps` until one ends the message, then dispatches it until a final status. */
export async function runSteps(
  run: MessageRun,
  steps: readonly SendStep[],
): Promise<SendMessageResult> {
  for (const step of steps) {
    const ended = await step(run);
    if (ended) return ended;
  }
  return dispatchUntilFinal(run);
}

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
  return runSteps(startRun(input, options), SEND_STEPS);
}
