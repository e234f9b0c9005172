import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import type { Pool } from 'pg';
import { signWebhook } from '../../domain/webhook-signature';
import { OutboundRefusedError, type OutboundHttp } from '../../clients/outbound-http';
import { ErrorType } from '../../domain/error-types';
import type { Metrics } from '../../clients/metrics';
import { recordDispatchOutcome } from '../../db/operations';

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

/** The clients bookkeeping works with. */
export interface BookkeepingDeps {
  db: Pool;
  callbacks: {
    /** The guarded client callbacks go through (clients/outbound-http.ts). */
    http: OutboundHttp;
    /** The still-valid signing secrets of the tenant that sent a message, newest first (encryption/callback-secrets.ts). */
    secretsFor(messageId: string): Promise<string[]>;
  };
  log: Logger;
  metrics?: Metrics;
}

/** Records a status (the activity `recordStatus`, documented there). */
async function recordStatus(
  { db, metrics }: BookkeepingDeps,
  input: RecordStatusInput,
): Promise<void> {
  const { rows } = await db.query<{
    country: string | null;
    purpose: string;
    carrier: string | null;
    receipt_seconds: number | null;
  }>(
    `with u as (
         update messages set status = $2, carrier = coalesce($3, carrier), reason = $4, updated_at = now(),
                completed_at = case when $5 then now() else completed_at end
          where id = $1
         returning country, purpose, carrier, extract(epoch from now() - submitted_at)::float8 as receipt_seconds
       ), e as (
         insert into message_events (message_id, status, carrier, detail) values ($1, $2, $3, $4)
       )
       select * from u`,
    [input.messageId, input.status, input.carrier ?? null, input.reason ?? null, input.final],
  );
  const row = rows[0];
  if (!input.final || !row) return;
  if (input.status === 'undelivered' && row.carrier)
    await recordDispatchOutcome(db, {
      messageId: input.messageId,
      carrier: row.carrier,
      outcome: 'undelivered',
      errorType: input.reason,
    });
  if (!metrics) return;
  const labels = {
    carrier: row.carrier ?? 'none',
    country: row.country ?? 'unknown',
    purpose: row.purpose,
  };
  if (input.status === 'delivered') metrics.delivered.inc(labels);
  else if (['failed', 'undelivered', 'unconfirmed'].includes(input.status))
    metrics.failed.inc({ ...labels, status: input.status });
  if (row.carrier && row.receipt_seconds !== null)
    metrics.receiptSeconds.observe(
      { carrier: row.carrier, status: input.status },
      row.receipt_seconds,
    );
}

/** Posts the status callback (the activity `notifyClient`, documented there). */
async function notifyClient(
  { callbacks, log }: BookkeepingDeps,
  input: NotifyClientInput,
): Promise<void> {
  const secrets = await callbacks.secretsFor(input.messageId);
  if (secrets.length === 0) {
    log.warn({ messageId: input.messageId }, 'status callback not sent: no signing secret');
    throw ApplicationFailure.nonRetryable(
      'the tenant has no callback signing secret',
      ErrorType.CALLBACK_REJECTED,
    );
  }
  const body = JSON.stringify({
    id: input.messageId,
    status: input.status,
    reason: input.reason,
    at: input.at,
  });
  const timestamp = Math.floor(Date.now() / 1000);
  let status: number;
  try {
    ({ status } = await callbacks.http.post(input.callbackUrl, {
      headers: {
        'content-type': 'application/json',
        'x-timestamp': String(timestamp),
        'x-signature': secrets.map((s) => signWebhook(s, timestamp, body)).join(','),
      },
      body,
    }));
  } catch (err) {
    if (err instanceof OutboundRefusedError) {
      log.warn(
        { messageId: input.messageId, reason: err.reason, range: err.range },
        'status callback refused: destination not allowed',
      );
      throw ApplicationFailure.nonRetryable(`callback ${err.message}`, ErrorType.CALLBACK_REJECTED);
    }
    throw ApplicationFailure.retryable(`callback failed: ${(err as Error).name}`);
  }
  if (status >= 200 && status < 300) return;
  if (status < 500 && status !== 408 && status !== 429) {
    throw ApplicationFailure.nonRetryable(
      status < 400
        ? `callback answered ${status} (redirects are not followed)`
        : `callback answered ${status}`,
      ErrorType.CALLBACK_REJECTED,
    );
  }
  log.warn({ messageId: input.messageId, status }, 'status callback failed; will retry');
  throw ApplicationFailure.retryable(`callback answered ${status}`);
}

/** Activities that keep the redacted record of a message and tell its client what happened. */
export function createBookkeepingActivities(deps: BookkeepingDeps) {
  return {
    /**
     * Updates the message row and appends a status event, in one statement. Idempotent enough: a retry
     * appends at most a duplicate event. A final status also counts in the metrics, and an undelivered
     * one in the dispatch outcomes the anomaly detector reads.
     */
    recordStatus: (input: RecordStatusInput) => recordStatus(deps, input),

    /**
     * POSTs the status to the client's callback URL through the guarded client (no loopback,
     * private or metadata address unless allowlisted, no redirects, bounded answer), signed with
     * the tenant's own secrets (`x-timestamp`, `x-signature: v1=<hex HMAC-SHA256 over
     * "<timestamp>.<body>">`, one `v1=` per valid secret, newest first, during a rotation's overlap).
     * 5xx and network errors are retried by the activity's policy; a 4xx other than 408/429, a
     * redirect, a refused address and a tenant without a secret are final (CALLBACK_REJECTED).
     */
    notifyClient: (input: NotifyClientInput) => notifyClient(deps, input),
  };
}

export type BookkeepingActivities = ReturnType<typeof createBookkeepingActivities>;
