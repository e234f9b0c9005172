/**
 * What the review activities share: the message's body as a reviewer may see it, and the task row
 * (with its pseudonymized, redacted content) that puts a message in a reviewer's queue.
 */
import { randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool, PoolClient } from 'pg';
import { ulid } from 'ulid';
import type { MessageCipher } from '../../encryption/message-cipher';
import { appendAudit } from '../../db/audit';
import { redactForPeople } from '../../domain/masking';
import type { ReviewMode } from '../../domain/review';
import { ErrorType } from '../../domain/error-types';

/**
 * A pseudonym per task, drawn at random: within a task it names the subscriber; across tasks the
 * values are unrelated, so a reviewer cannot tell that two tasks concern the same person. (It was an
 * HMAC of the subscriber token under a random key forgotten at once: the same, without the token.)
 */
export const taskPseudonym = () => `subj_${randomBytes(12).toString('base64url')}`;

/** The message's body as a person may see it, for one reason (recorded in the decrypt audit). */
export type RedactedBody = (messageId: string, tenant: string, reason: string) => Promise<string>;

/**
 * The message's body as a person may see it (`redactForPeople`: codes, phone numbers and e-mail
 * addresses masked), decrypted just in time and audited.
 *
 * @throws ApplicationFailure `MESSAGE_PURGED` (non-retryable) when the message holds no body any more.
 */
export function createRedactedBody({
  db,
  cipher,
}: {
  db: Pool;
  cipher: Pick<MessageCipher, 'open'>;
}): RedactedBody {
  return async (messageId, tenant, reason) => {
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
  };
}

/** A task to open: the message, its review mode and SLA, and what the reviewer will read. */
export interface NewReviewTask {
  messageId: string;
  tenant: string;
  mode: ReviewMode;
  slaSeconds: number;
  content: {
    country: string;
    carrier?: string;
    senderId?: string;
    signature?: string;
    /** Redacted for people already. */
    body: string;
    encoding: string;
    segments: number;
    outcome?: string;
  };
}

/**
 * Opens the message's task of this mode with its content, in one statement; returns its id. A
 * retried activity finds the task its first attempt opened.
 */
export async function insertTask(db: Pool | PoolClient, task: NewReviewTask): Promise<string> {
  const id = `rev_${ulid()}`;
  const { rows } = await db.query<{ id: string }>(
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
  return rows[0]!.id;
}
