import { condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type {
  ResolvedReview,
  ReviewActivities,
  ReviewPlan,
} from '../activities/review/review-activities';
import type { SendMessageInput, StatusEvent } from './definitions';
import { MessageStatus } from '../domain/statuses';
import { bookkeeping } from './options';
import { reviewDecisionSignal, type ReviewDecisionSignal } from './review-signal';
import { STEP_SUMMARIES } from '../domain/step-summaries';

// Summaries are what an operator reads in the Temporal UI's event history: fixed text, never a value.
const review = (summary: string) => proxyActivities<ReviewActivities>({ ...bookkeeping, summary });
const { planReview } = review(STEP_SUMMARIES.planReview);
const { openAuditTask } = review(STEP_SUMMARIES.openAuditTask);
const { resolveReview } = review(STEP_SUMMARIES.resolveReview);

/** What the review step needs from the SendMessage workflow. */
export interface ReviewContext {
  meta: Omit<SendMessageInput, 'to' | 'body'>;
  /** Moves the message to a status and appends to its history (the workflow's `step`). */
  step(status: MessageStatus, extra?: Omit<StatusEvent, 'status' | 'at'>): void;
  /** Records a non-final status in PostgreSQL (the bookkeeping `recordStatus` activity). */
  record(status: MessageStatus): Promise<void>;
}

/** What the pre-send review decided, and the post-delivery audit still to run. */
export interface ReviewGate {
  /** The message may not be dispatched; `reason` says why (`review_reject:<code>` or `review_default_reject`). */
  rejected: boolean;
  reason?: string;
  /** Runs the post-delivery audit, if the policy asked for one; call after the final status. */
  auditAfterDelivery(outcome: {
    status: MessageStatus;
    carrier?: string;
    sender?: string;
  }): Promise<void>;
}

const describe = (r: ResolvedReview) =>
  r.defaultApplied
    ? `no decision within the SLA: default ${r.verdict} applied`
    : `${r.verdict} (${r.reasonCode})`;

/**
 * Step 3 of SendMessage. Applies the review policy (activity `planReview`); for a pre-send review
 * the message waits `in_review` for the `reviewDecision` signal of its task, up to the policy's
 * SLA, then the database settles the task (`resolveReview`): the reviewer's decision, or the
 * policy's default, which the history then says applied. A post-delivery audit is opened after the
 * final status by {@link ReviewGate.auditAfterDelivery}; it never changes the message's status.
 */
export async function reviewBeforeSend(ctx: ReviewContext): Promise<ReviewGate> {
  const decisions = new Map<string, ReviewDecisionSignal>();
  setHandler(reviewDecisionSignal, (d) => {
    decisions.set(d.taskId, d);
  });
  const { meta } = ctx;
  const plan: ReviewPlan = await planReview({
    messageId: meta.messageId,
    tenant: meta.tenant,
    campaign: meta.campaign,
    country: meta.country,
    encoding: meta.encoding,
    segments: meta.segments,
    sender: meta.sender,
  });

  const await_ = async (
    taskId: string,
    slaSeconds: number,
    defaultDecision: 'approve' | 'reject',
  ) => {
    await condition(() => decisions.has(taskId), slaSeconds * 1000, {
      summary: STEP_SUMMARIES.reviewWait,
    });
    return resolveReview({ taskId, messageId: meta.messageId, defaultDecision });
  };

  const gate: ReviewGate = {
    rejected: false,
    async auditAfterDelivery({ status, carrier, sender }) {
      if (plan.mode !== 'post_delivery') return;
      const { taskId } = await openAuditTask({
        messageId: meta.messageId,
        tenant: meta.tenant,
        country: meta.country,
        encoding: meta.encoding,
        segments: meta.segments,
        carrier,
        sender,
        outcome: status,
        slaSeconds: plan.slaSeconds,
      });
      const resolved = await await_(taskId, plan.slaSeconds, plan.defaultDecision);
      ctx.step(status, { carrier, detail: `post-delivery review: ${describe(resolved)}` });
    },
  };
  if (plan.mode !== 'pre_send' || !plan.taskId) return gate;

  ctx.step(MessageStatus.IN_REVIEW, { detail: `pre-send review (${plan.trigger})` });
  await ctx.record(MessageStatus.IN_REVIEW);
  const resolved = await await_(plan.taskId, plan.slaSeconds, plan.defaultDecision);
  ctx.step(MessageStatus.IN_REVIEW, { detail: `pre-send review: ${describe(resolved)}` });
  if (resolved.verdict === 'reject') {
    gate.rejected = true;
    gate.reason = resolved.defaultApplied
      ? 'review_default_reject'
      : `review_reject:${resolved.reasonCode}`;
  }
  return gate;
}
