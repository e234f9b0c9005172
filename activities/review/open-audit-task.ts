/** The post-delivery audit: a task opened after the receipt, with the message's delivery outcome. */
import type { Pool } from 'pg';
import { senderSignature } from '../../domain/review';
import { insertTask, type RedactedBody } from './review-task';

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

/** `openAuditTask` over PostgreSQL and the redacted body. */
export function createAuditTaskActivities({
  db,
  redactedBody,
}: {
  db: Pool;
  redactedBody: RedactedBody;
}) {
  return {
    /** Opens the post-delivery audit of a message that went out, with its delivery outcome. */
    async openAuditTask(input: OpenAuditTaskInput): Promise<{ taskId: string }> {
      const body = await redactedBody(input.messageId, input.tenant, 'post-delivery review');
      // One statement: the task and its content together, no transaction of its own needed.
      const taskId = await insertTask(db, {
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
    },
  };
}
