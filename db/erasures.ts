import type { Pool, PoolClient } from 'pg';
import type { SubjectTokens } from '../encryption/subscriber-token';
import type { SealedNumber } from './privacy';

/**
 * Erasures of a data subject in PostgreSQL (tables in db/migrations/): the request and its
 * tombstone, the subject's messages still holding personal data, the messages still in intake the
 * erasure waits for, and the expiry of tombstones. Subscribers appear here only as keyed tokens.
 */

type Db = Pool | PoolClient;

/**
 * The subject's messages at a tenant that still hold personal data (oldest first, a page at a time):
 * those with its ciphertexts, and those the erasure `erasureId` stopped at tokenize (no ciphertext,
 * but a workflow history).
 */
export async function subjectMessageIds(
  db: Db,
  tenant: string,
  subscriberTokens: string[],
  limit: number,
  erasureId?: string,
): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `select id from (
       select m.id, m.created_at from message_secrets s join messages m on m.id = s.message_id
        where s.subscriber_token = any($1) and m.tenant = $2
       union
       select id, created_at from messages
        where erased_by = $4 and tenant = $2 and purged_at is null
     ) x order by created_at limit $3`,
    [subscriberTokens, tenant, limit, erasureId ?? null],
  );
  return rows.map((r) => r.id);
}

/**
 * Records an erasure request and its tombstone in one transaction, before its workflow starts: from
 * then on every step before dispatch stops the subject's messages accepted until now
 * (`erasure_stopping` in the database).
 */
export async function recordErasure(
  client: PoolClient,
  e: {
    erasureId: string;
    tenant: string;
    requestedBy: string;
    subject: SubjectTokens;
    /** The subject's number sealed under its region key, so a token rotation re-derives the tombstone. */
    sealed?: SealedNumber;
  },
): Promise<Record<string, unknown> & { created_at: Date; completed_at: Date | null }> {
  // The subject's live tokens stay with the erasure until it completes (its workflow input holds none).
  const { rows } = await client.query(
    `insert into erasures (id, tenant, requested_by, status, subject_tokens)
     values ($1, $2, $3, 'running', $4) returning *`,
    [e.erasureId, e.tenant, e.requestedBy, e.subject.live],
  );
  await client.query(
    `insert into erasure_tombstones (erasure_id, tenant, subscriber_token, created_at, number_ciphertext, transit_key)
     values ($1, $2, $3, $4, $5, $6)`,
    [
      e.erasureId,
      e.tenant,
      e.subject.current,
      rows[0].created_at,
      e.sealed?.ciphertext ?? null,
      e.sealed?.transitKey ?? null,
    ],
  );
  return rows[0];
}

/**
 * The tenant's messages accepted before the erasure's tombstone that are still in intake (not
 * tokenized, not known to have ended): up to `limit`, oldest first, and whether each still waits in
 * the outbox. Their subscriber is unknown until tokenize, so the erasure waits for them.
 */
export async function messagesInIntake(
  db: Db,
  erasureId: string,
  limit: number,
): Promise<{ id: string; queued: boolean }[]> {
  const { rows } = await db.query<{ id: string; queued: boolean }>(
    `select c.message_id as id, exists (select 1 from workflow_starts w where w.message_id = c.message_id) as queued
       from erasure_tombstones t join message_charges c on c.tenant = t.tenant
      where t.erasure_id = $1 and c.intake_ended_at is null and c.created_at <= t.created_at
      order by c.created_at limit $2`,
    [erasureId, limit],
  );
  return rows;
}

/**
 * Marks messages that ended before tokenize as out of intake (their outbox row, if any, goes with
 * {@link purgeMessageRows}); returns those marked now, with their tenants (the caller audits their purge).
 */
export async function endIntake(
  db: Db,
  messageIds: readonly string[],
): Promise<{ id: string; tenant: string }[]> {
  if (messageIds.length === 0) return [];
  const { rows } = await db.query<{ id: string; tenant: string }>(
    `update message_charges set intake_ended_at = now()
      where message_id = any($1) and intake_ended_at is null returning message_id as id, tenant`,
    [messageIds],
  );
  return rows;
}

/**
 * Drops the erasure tombstones (and the sealed numbers they keep) that can no longer stop anything:
 * those of completed erasures recorded more than `horizonMs` before `now`, where `horizonMs` is the
 * longest a message accepted before the tombstone can still be dispatched (scheduled ahead, then
 * valid, then running late: domain `TOMBSTONE_HORIZON_MS` plus the stuck-after allowance). Returns
 * how many were dropped.
 */
export async function dropExpiredTombstones(db: Db, now: Date, horizonMs: number): Promise<number> {
  const { rowCount } = await db.query(
    `delete from erasure_tombstones t using erasures e
      where e.id = t.erasure_id and e.status = 'completed'
        and t.created_at < $1::timestamptz - $2 * interval '1 millisecond'`,
    [now, horizonMs],
  );
  return rowCount ?? 0;
}

/** An erasure of the tenant's, or undefined (another tenant's erasure is not found either). */
export async function findErasure(
  db: Db,
  id: string,
  tenant: string,
): Promise<
  (Record<string, unknown> & { created_at: Date; completed_at: Date | null }) | undefined
> {
  const { rows } = await db.query(`select * from erasures where id = $1 and tenant = $2`, [
    id,
    tenant,
  ]);
  return rows[0];
}
