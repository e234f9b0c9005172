import type { Pool } from 'pg';

/**
 * A message workflow to start (table `workflow_starts`, the outbox of POST /v1/messages, written by
 * the statement that admits the message: `admitMessage` in db/admission.ts). `args` are
 * the start arguments as codec-encrypted Temporal payloads; `searchAttributes` map the keys of
 * `searchAttributes` in workflows/definitions.ts (status, tenant…) to values, none of them personal.
 */
export interface PendingStart {
  messageId: string;
  tenant: string;
  workflowType: string;
  taskQueue: string;
  args: Buffer;
  searchAttributes: Record<string, string>;
}

export interface ClaimedStart extends PendingStart {
  attempts: number;
  createdAt: Date;
}

const COLUMNS = `message_id as "messageId", tenant, workflow_type as "workflowType", task_queue as "taskQueue",
                 args, search_attributes as "searchAttributes", attempts, created_at as "createdAt"`;

/**
 * Leases up to `limit` due starts, oldest first, for `leaseMs` (none for the task queues in
 * `skipQueues`): another relay (another API process) skips them meanwhile, and takes them over if
 * this one dies before it finishes.
 */
export async function claimStarts(
  db: Pool,
  limit: number,
  leaseMs: number,
  skipQueues: readonly string[] = [],
): Promise<ClaimedStart[]> {
  const { rows } = await db.query<ClaimedStart>(
    `update workflow_starts set lease_until = now() + $2 * interval '1 millisecond', attempts = attempts + 1
      where message_id in (select message_id from workflow_starts
                            where lease_until <= now() and not (task_queue = any($3))
                            order by created_at limit $1 for update skip locked)
      returning ${COLUMNS}`,
    [limit, leaseMs, skipQueues],
  );
  return rows.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
}

/**
 * Leases one message's start whatever its lease (a request that needs the workflow now), only when
 * it belongs to `tenant`: a caller never starts another tenant's message. Undefined if it started
 * already, or is not the tenant's.
 */
export async function claimStart(
  db: Pool,
  messageId: string,
  tenant: string,
  leaseMs: number,
): Promise<ClaimedStart | undefined> {
  const { rows } = await db.query<ClaimedStart>(
    `update workflow_starts set lease_until = now() + $3 * interval '1 millisecond', attempts = attempts + 1
      where message_id = $1 and tenant = $2 returning ${COLUMNS}`,
    [messageId, tenant, leaseMs],
  );
  return rows[0];
}

/** Removes starts whose workflow exists now. */
export async function finishStarts(db: Pool, messageIds: readonly string[]): Promise<void> {
  if (messageIds.length === 0) return;
  await db.query(`delete from workflow_starts where message_id = any($1)`, [messageIds]);
}

/** Puts leased starts back, due again in `inMs`, without counting the lease as an attempt. */
export async function deferStarts(
  db: Pool,
  messageIds: readonly string[],
  inMs: number,
): Promise<void> {
  if (messageIds.length === 0) return;
  await db.query(
    `update workflow_starts set lease_until = now() + $2 * interval '1 millisecond', attempts = attempts - 1
      where message_id = any($1)`,
    [messageIds, inMs],
  );
}

/** Records a failed attempt (the error's name and code only) and when to try again. */
export async function retryStartLater(
  db: Pool,
  messageId: string,
  error: string,
  retryInMs: number,
): Promise<void> {
  await db.query(
    `update workflow_starts set last_error = $2, lease_until = now() + $3 * interval '1 millisecond'
      where message_id = $1`,
    [messageId, error, retryInMs],
  );
}

/** A tenant's message that is accepted and not started yet, if any (GET /v1/messages/:id). */
export async function findPendingStart(
  db: Pool,
  messageId: string,
  tenant: string,
): Promise<{ createdAt: Date; attempts: number } | undefined> {
  const { rows } = await db.query<{ createdAt: Date; attempts: number }>(
    `select created_at as "createdAt", attempts from workflow_starts where message_id = $1 and tenant = $2`,
    [messageId, tenant],
  );
  return rows[0];
}

/** How many starts wait, and how old the oldest is (for metrics and health). */
export async function pendingStarts(db: Pool): Promise<{ count: number; oldestSeconds: number }> {
  const { rows } = await db.query<{ count: number; oldestSeconds: number }>(
    `select count(*)::int as count,
            coalesce(extract(epoch from now() - min(created_at)), 0)::float8 as "oldestSeconds"
       from workflow_starts`,
  );
  return rows[0]!;
}
