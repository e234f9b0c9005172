import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import type { Pool } from 'pg';
import { signWebhook } from '../../carriers/http/signature';
import { ErrorType } from '../../workflows/options';

export interface RecordStatusInput {
  messageId: string;
  status: string;
  carrier?: string;
  /** A reason code (e.g. `CARRIER_PERMANENT`, `undeliverable:001`), never carrier free text. */
  reason?: string;
  final: boolean;
}

export interface NotifyClientInput {
  messageId: string;
  callbackUrl: string;
  status: string;
  reason?: string;
  at: string;
}

/** Activities that keep the redacted record of a message and tell its client what happened. */
export function createBookkeepingActivities({
  db,
  callbackSecret,
  log,
}: {
  db: Pool;
  callbackSecret: string;
  log: Logger;
}) {
  return {
    /** Updates the message row and appends a status event, in one statement. Idempotent enough: a retry appends at most a duplicate event. */
    async recordStatus(input: RecordStatusInput): Promise<void> {
      await db.query(
        `with u as (
           update messages set status = $2, carrier = coalesce($3, carrier), reason = $4, updated_at = now(),
                  completed_at = case when $5 then now() else completed_at end
            where id = $1
         )
         insert into message_events (message_id, status, carrier, detail) values ($1, $2, $3, $4)`,
        [input.messageId, input.status, input.carrier ?? null, input.reason ?? null, input.final],
      );
    },

    /**
     * POSTs the status to the client's callback URL, signed like carrier webhooks
     * (`x-timestamp`, `x-signature: v1=<hex HMAC-SHA256 over "<timestamp>.<body>">`). 5xx and network
     * errors are retried by the activity's policy; a 4xx other than 408/429 is final (CALLBACK_REJECTED).
     */
    async notifyClient(input: NotifyClientInput): Promise<void> {
      const body = JSON.stringify({
        id: input.messageId,
        status: input.status,
        reason: input.reason,
        at: input.at,
      });
      const timestamp = Math.floor(Date.now() / 1000);
      const res = await fetch(input.callbackUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-timestamp': String(timestamp),
          'x-signature': signWebhook(callbackSecret, timestamp, body),
        },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      if (res.ok) return;
      if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
        throw ApplicationFailure.nonRetryable(
          `callback answered ${res.status}`,
          ErrorType.CALLBACK_REJECTED,
        );
      }
      log.warn(
        { messageId: input.messageId, status: res.status },
        'status callback failed; will retry',
      );
      throw ApplicationFailure.retryable(`callback answered ${res.status}`);
    },
  };
}

export type BookkeepingActivities = ReturnType<typeof createBookkeepingActivities>;
