/** Step 3 of a message: whether it is reviewed, and for a pre-send review its open task. */
import { createHash, randomInt } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import type { Logger } from 'pino';
import { findReviewPolicy } from '../../db/review';
import { withTransaction } from '../../db/transaction';
import {
  reviewTrigger,
  senderSignature,
  templateOf,
  type ReviewMode,
  type ReviewTrigger,
  type Verdict,
} from '../../domain/review';
import { insertTask, type RedactedBody } from './review-task';

/** The carriers a worker knows, to name the carrier a pre-send reviewer should expect. */
export interface ReviewCarrierDirectory {
  eligible(country: string): string[];
}

export interface PlanReviewInput {
  messageId: string;
  tenant: string;
  campaign?: string;
  country: string;
  encoding: 'GSM7' | 'UCS2';
  segments: number;
  /** The sender the client asked for, if any (the pool picks one otherwise, after review). */
  sender?: string;
}

/** No review, or the review this message gets: a pre-send task already open, or a post-delivery audit to open after the receipt. */
export type ReviewPlan =
  | { mode: 'none' }
  | {
      mode: ReviewMode;
      trigger: ReviewTrigger;
      slaSeconds: number;
      defaultDecision: Verdict;
      /** The open task (pre-send only; post-delivery tasks are opened by `openAuditTask`). */
      taskId?: string;
    };

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Counts one more message of the tenant with this signature or template; returns how many so far. */
async function countSeen(
  tx: PoolClient,
  tenant: string,
  kind: 'signature' | 'template',
  value: string,
): Promise<number> {
  const { rows } = await tx.query<{ seen: number }>(
    `insert into review_seen (tenant, kind, fingerprint, seen) values ($1, $2, $3, 1)
     on conflict (tenant, kind, fingerprint) do update set seen = review_seen.seen + 1
     returning seen`,
    [tenant, kind, sha256(value)],
  );
  return Number(rows[0]!.seen);
}

/** `planReview` over PostgreSQL, the redacted body, the carrier directory and the log. */
export function createPlanReviewActivities({
  db,
  redactedBody,
  carriers,
  log,
}: {
  db: Pool;
  redactedBody: RedactedBody;
  carriers: ReviewCarrierDirectory;
  log: Logger;
}) {
  return {
    /**
     * Step 3: applies the tenant's (or the campaign's) review policy. Counts the message against
     * the "first N of a new signature / template" rules, checks the flagged phrases, samples; for a
     * pre-send review opens the task (pseudonym, masked body) in the same transaction.
     * A retry may count the message twice toward the first-N rules (at worst one review fewer).
     */
    async planReview(input: PlanReviewInput): Promise<ReviewPlan> {
      const policy = await findReviewPolicy(db, input.tenant, input.campaign);
      if (!policy) return { mode: 'none' };
      const body = await redactedBody(input.messageId, input.tenant, 'review sampling');
      const signature = senderSignature(body);
      const plan = await withTransaction(db, async (tx): Promise<ReviewPlan> => {
        const trigger = reviewTrigger(policy, {
          signatureSeen: signature
            ? await countSeen(tx, input.tenant, 'signature', signature)
            : undefined,
          templateSeen: await countSeen(tx, input.tenant, 'template', templateOf(body)),
          maskedBody: body,
          random: randomInt(1_000_000) / 1_000_000,
        });
        if (!trigger) return { mode: 'none' };
        const plan: ReviewPlan = {
          mode: policy.mode,
          trigger,
          slaSeconds: policy.slaSeconds,
          defaultDecision: policy.defaultDecision,
        };
        if (policy.mode === 'pre_send') {
          plan.taskId = await insertTask(tx, {
            messageId: input.messageId,
            tenant: input.tenant,
            mode: 'pre_send',
            slaSeconds: policy.slaSeconds,
            content: {
              country: input.country,
              carrier: carriers.eligible(input.country)[0],
              senderId: input.sender,
              signature,
              body,
              encoding: input.encoding,
              segments: input.segments,
            },
          });
        }
        return plan;
      });
      if (plan.mode !== 'none')
        log.info(
          { messageId: input.messageId, mode: plan.mode, trigger: plan.trigger },
          'review planned',
        );
      return plan;
    },
  };
}
