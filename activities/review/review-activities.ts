import { createHash, randomBytes, randomInt } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import type { Pool, PoolClient } from 'pg';
import { ulid } from 'ulid';
import type { MessageCipher } from '../../encryption/message-cipher';
import { appendAudit } from '../../db/audit';
import { findReviewPolicy } from '../../db/review';
import { redactForPeople } from '../../domain/masking';
import {
  reviewTrigger,
  senderSignature,
  templateOf,
  type ReasonCode,
  type ReviewMode,
  type ReviewTrigger,
  type Verdict,
} from '../../domain/review';
import { ErrorType } from '../../domain/error-types';

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

export interface OpenAuditTaskInput {
  messageId: string;
  tenant: string;
  country: string;
  encoding: 'GSM7' | 'UCS2';
  segments: number;
  carrier?: string;
  sender?: string;
  /** The message's final status (delivered, undelivered, unconfirmed, failed). */
  outcome: string;
  slaSeconds: number;
}

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

/**
 * A pseudonym per task, drawn at random: within a task it names the subscriber; across tasks the
 * values are unrelated, so a reviewer cannot tell that two tasks concern the same person. (It was an
 * HMAC of the subscriber token under a random key forgotten at once: the same, without the token.)
 */
export const taskPseudonym = () => `subj_${randomBytes(12).toString('base64url')}`;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Activities of human review: decide whether a message is reviewed and open its task, open a
 * post-delivery audit, and settle a task (the reviewer's decision or the default after the SLA).
 * The body is decrypted just in time (audited, like dispatch) and redacted for people
 * (`redactForPeople`) before anything is stored, and the plaintext is never returned or logged.
 */
export function createReviewActivities({
  db,
  cipher,
  carriers,
  log,
}: {
  db: Pool;
  /** Opens the body; the worker's one instance, shared with dispatch, so data keys are cached once. */
  cipher: Pick<MessageCipher, 'open'>;
  carriers: ReviewCarrierDirectory;
  log: Logger;
}) {
  /**
   * The message's body as a person may see it (`redactForPeople`: codes, phone numbers and e-mail
   * addresses masked), decrypted just in time and audited.
   */
  async function redactedBody(messageId: string, tenant: string, reason: string): Promise<string> {
    const { rows } = await db.query<{ body_ciphertext: string; transit_key: string }>(
      'select body_ciphertext, transit_key from message_secrets where message_id = $1',
      [messageId],
    );
    const secrets = rows[0];
    if (!secrets)
      throw ApplicationFailure.nonRetryable(
        'the message has no personal data left to review',
        ErrorType.MESSAGE_PURGED,
      );
    await appendAudit(db, {
      actor: 'system:worker',
      tenant,
      action: 'message.decrypt',
      subject: messageId,
      detail: { component: 'review', reason, fields: ['body'] },
    });
    const [body] = await cipher.open(secrets.transit_key, [secrets.body_ciphertext]);
    return redactForPeople(body!.toString('utf8'));
  }

  async function insertTask(
    client: PoolClient,
    task: {
      messageId: string;
      tenant: string;
      mode: ReviewMode;
      slaSeconds: number;
      content: {
        country: string;
        carrier?: string;
        senderId?: string;
        signature?: string;
        body: string;
        encoding: string;
        segments: number;
        outcome?: string;
      };
    },
  ): Promise<string> {
    const id = `rev_${ulid()}`;
    const { rows } = await client.query<{ id: string }>(
      `with t as (
         insert into review_tasks (id, message_id, tenant, mode, due_at)
         values ($1, $2, $3, $4, now() + make_interval(secs => $5))
         on conflict (message_id, mode) do nothing
         returning id
       ), c as (
         insert into review_task_content (task_id, pseudonym, country, carrier, sender_id, sender_signature,
                                          body_masked, encoding, segments, delivery_outcome)
         select id, $6, $7, $8, $9, $10, $11, $12, $13, $14 from t
       )
       select id from t
       union all
       select id from review_tasks where message_id = $2 and mode = $4`,
      [
        id,
        task.messageId,
        task.tenant,
        task.mode,
        task.slaSeconds,
        taskPseudonym(),
        task.content.country,
        task.content.carrier ?? null,
        task.content.senderId ?? null,
        task.content.signature ?? null,
        task.content.body,
        task.content.encoding,
        task.content.segments,
        task.content.outcome ?? null,
      ],
    );
    // A retried activity finds the task its first attempt opened.
    return rows[0]!.id;
  }

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
      const client = await db.connect();
      try {
        await client.query('begin');
        const count = async (kind: 'signature' | 'template', value: string) =>
          Number(
            (
              await client.query<{ seen: number }>(
                `insert into review_seen (tenant, kind, fingerprint, seen) values ($1, $2, $3, 1)
                 on conflict (tenant, kind, fingerprint) do update set seen = review_seen.seen + 1
                 returning seen`,
                [input.tenant, kind, sha256(value)],
              )
            ).rows[0]!.seen,
          );
        const signatureSeen = signature ? await count('signature', signature) : undefined;
        const templateSeen = await count('template', templateOf(body));
        const trigger = reviewTrigger(policy, {
          signatureSeen,
          templateSeen,
          maskedBody: body,
          random: randomInt(1_000_000) / 1_000_000,
        });
        let plan: ReviewPlan = { mode: 'none' };
        if (trigger) {
          plan = {
            mode: policy.mode,
            trigger,
            slaSeconds: policy.slaSeconds,
            defaultDecision: policy.defaultDecision,
          };
          if (policy.mode === 'pre_send') {
            plan.taskId = await insertTask(client, {
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
        }
        await client.query('commit');
        if (plan.mode !== 'none')
          log.info({ messageId: input.messageId, mode: plan.mode, trigger }, 'review planned');
        return plan;
      } catch (err) {
        await client.query('rollback').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },

    /** Opens the post-delivery audit of a message that went out, with its delivery outcome. */
    async openAuditTask(input: OpenAuditTaskInput): Promise<{ taskId: string }> {
      const body = await redactedBody(input.messageId, input.tenant, 'post-delivery review');
      const client = await db.connect();
      try {
        const taskId = await insertTask(client, {
          messageId: input.messageId,
          tenant: input.tenant,
          mode: 'post_delivery',
          slaSeconds: input.slaSeconds,
          content: {
            country: input.country,
            carrier: input.carrier,
            senderId: input.sender,
            signature: senderSignature(body),
            body,
            encoding: input.encoding,
            segments: input.segments,
            outcome: input.outcome,
          },
        });
        return { taskId };
      } finally {
        client.release();
      }
    },

    /**
     * Settles a task once the workflow stops waiting: the database decides the race between a
     * reviewer and the SLA. A task a reviewer completed keeps their decision; an open one gets the
     * policy's default (recorded as such). Either way its content is deleted and the message's
     * history gets an event saying which decision stands and whether the default applied.
     */
    async resolveReview(input: ResolveReviewInput): Promise<ResolvedReview> {
      const client = await db.connect();
      try {
        await client.query('begin');
        const { rows } = await client.query<{
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
            await client.query(
              `update review_tasks set status = 'defaulted', verdict = $2, reason_code = 'sla_timeout',
                      default_applied = true, decided_by = 'policy_default', decided_at = now(),
                      lease_holder = null, lease_expires_at = null
                where id = $1`,
              [input.taskId, resolved.verdict],
            );
            await client.query(
              `insert into message_events (message_id, status, detail) values ($1, 'in_review', $2)`,
              [
                input.messageId,
                `${task.mode} review: no decision within the SLA, default ${resolved.verdict} applied`,
              ],
            );
          }
        }
        await client.query('delete from review_task_content where task_id = $1', [input.taskId]);
        await client.query('commit');
        return resolved;
      } catch (err) {
        await client.query('rollback').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
  };
}

export type ReviewActivities = ReturnType<typeof createReviewActivities>;
