/** Settling a review task once its workflow stops waiting: the reviewer's decision or the default. */
import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import { withTransaction } from '../../db/transaction';
import type { ReasonCode, ReviewMode, Verdict } from '../../domain/review';

export interface ResolveReviewInput {
  taskId: string;
  messageId: string;
  defaultDecision: Verdict;
}

/** The decision that stands: the reviewer's, or the policy's default when the SLA ran out first. */
export interface ResolvedReview {
  verdict: Verdict;
  reasonCode: ReasonCode | 'sla_timeout';
  defaultApplied: boolean;
}

/** `resolveReview` over PostgreSQL. */
export function createResolveReviewActivities({ db }: { db: Pool }) {
  return {
    /**
     * Settles a task once the workflow stops waiting: the database decides the race between a
     * reviewer and the SLA. A task a reviewer completed keeps their decision; an open one gets the
     * policy's default (recorded as such). Either way its content is deleted and the message's
     * history gets an event saying which decision stands and whether the default applied.
     *
     * @throws ApplicationFailure (non-retryable) when the task does not exist.
     */
    async resolveReview(input: ResolveReviewInput): Promise<ResolvedReview> {
      return withTransaction(db, async (tx) => {
        const { rows } = await tx.query<{
          status: string;
          verdict: Verdict | null;
          reason_code: ReasonCode | null;
          tenant: string;
          mode: ReviewMode;
        }>(
          'select status, verdict, reason_code, tenant, mode from review_tasks where id = $1 for update',
          [input.taskId],
        );
        const task = rows[0];
        if (!task) throw ApplicationFailure.nonRetryable(`review task ${input.taskId} not found`);
        let resolved: ResolvedReview;
        if (task.status === 'decided' && task.verdict) {
          resolved = {
            verdict: task.verdict,
            reasonCode: task.reason_code ?? 'other',
            defaultApplied: false,
          };
        } else {
          resolved = {
            verdict:
              task.status === 'defaulted' && task.verdict ? task.verdict : input.defaultDecision,
            reasonCode: 'sla_timeout',
            defaultApplied: true,
          };
          if (task.status === 'open') {
            await tx.query(
              `update review_tasks set status = 'defaulted', verdict = $2, reason_code = 'sla_timeout',
                      default_applied = true, decided_by = 'policy_default', decided_at = now(),
                      lease_holder = null, lease_expires_at = null
                where id = $1`,
              [input.taskId, resolved.verdict],
            );
            await tx.query(
              `insert into message_events (message_id, status, detail) values ($1, 'in_review', $2)`,
              [
                input.messageId,
                `${task.mode} review: no decision within the SLA, default ${resolved.verdict} applied`,
              ],
            );
          }
        }
        await tx.query('delete from review_task_content where task_id = $1', [input.taskId]);
        return resolved;
      });
    },
  };
}
