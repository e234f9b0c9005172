/**
 * Sender-number pools in PostgreSQL: the admin operations used by the API (`api/routes/pools`);
 * the pick a message's sender comes from is in `db/sender-pick.ts`.
 * Sender numbers are ours, not personal data; subscriber tokens are keyed HMACs and are only ever
 * passed as query parameters, never logged or put in error messages.
 */
import type { Pool } from 'pg';

export type PoolPurpose = 'otp' | 'transactional' | 'marketing';
export type PoolStrategy = 'lru' | 'sticky';
export type NumberStatus = 'active' | 'quarantined';

/** A pool as the admin API shows it. */
export interface PoolRecord {
  id: string;
  name: string;
  /** ISO 3166 alpha-2; null for a fallback pool that serves any destination. */
  country: string | null;
  purpose: PoolPurpose;
  strategy: PoolStrategy;
  campaign: string | null;
  expiresAt: Date | null;
  createdAt: Date;
}

export interface PoolSummary extends PoolRecord {
  activeNumbers: number;
  quarantinedNumbers: number;
}

export interface PoolNumberRecord {
  id: string;
  number: string;
  status: NumberStatus;
  ratePerSecond: number;
  /** The next free send slot; null when the number has never been picked. */
  nextAvailableAt: Date | null;
  lastUsedAt: Date | null;
  quarantinedAt: Date | null;
  quarantineReason: string | null;
}

export interface PoolDetail extends PoolRecord {
  numbers: PoolNumberRecord[];
}

export interface NewPool {
  name: string;
  country?: string;
  purpose: PoolPurpose;
  strategy: PoolStrategy;
  campaign?: string;
  expiresAt?: Date;
}

/** Thrown by {@link createPool} when the tenant already has a pool of that name. */
export class PoolNameTakenError extends Error {
  override readonly name = 'PoolNameTakenError';
  constructor() {
    super('a pool with this name already exists');
  }
}

const POOL_COLUMNS = `p.id, p.name, p.country, p.purpose, p.strategy, p.campaign,
  p.expires_at as "expiresAt", p.created_at as "createdAt"`;

const NUMBER_COLUMNS = `n.id::text as id, n.number, n.status, n.rate_per_second::float8 as "ratePerSecond",
  case when n.next_available_at = '-infinity' then null else n.next_available_at end as "nextAvailableAt",
  n.last_used_at as "lastUsedAt", n.quarantined_at as "quarantinedAt",
  n.quarantine_reason as "quarantineReason"`;

const isUniqueViolation = (err: unknown) => (err as { code?: unknown }).code === '23505';

/** Creates a pool for `tenant`. @throws PoolNameTakenError when the name is taken. */
export async function createPool(
  db: Pool,
  tenant: string,
  id: string,
  pool: NewPool,
): Promise<PoolRecord> {
  try {
    const { rows } = await db.query<PoolRecord>(
      `insert into number_pools as p (id, tenant, name, country, purpose, strategy, campaign, expires_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8)
       returning ${POOL_COLUMNS}`,
      [
        id,
        tenant,
        pool.name,
        pool.country ?? null,
        pool.purpose,
        pool.strategy,
        pool.campaign ?? null,
        pool.expiresAt ?? null,
      ],
    );
    return rows[0]!;
  } catch (err) {
    if (isUniqueViolation(err)) throw new PoolNameTakenError();
    throw err;
  }
}

/** The tenant's pools with their count of active and quarantined numbers, oldest first. */
export async function listPools(db: Pool, tenant: string): Promise<PoolSummary[]> {
  const { rows } = await db.query<PoolSummary>(
    `select ${POOL_COLUMNS},
            count(n.id) filter (where n.status = 'active')::int as "activeNumbers",
            count(n.id) filter (where n.status = 'quarantined')::int as "quarantinedNumbers"
       from number_pools p
       left join pool_numbers n on n.pool_id = p.id
      where p.tenant = $1
      group by p.id
      order by p.created_at, p.id`,
    [tenant],
  );
  return rows;
}

/** One of the tenant's pools, or null (also for another tenant's pool). */
export async function findPool(db: Pool, tenant: string, id: string): Promise<PoolRecord | null> {
  const { rows } = await db.query<PoolRecord>(
    `select ${POOL_COLUMNS} from number_pools p where p.tenant = $1 and p.id = $2`,
    [tenant, id],
  );
  return rows[0] ?? null;
}

/** The numbers of a pool, in the order they were added. */
export async function listNumbers(db: Pool, poolId: string): Promise<PoolNumberRecord[]> {
  const { rows } = await db.query<PoolNumberRecord>(
    `select ${NUMBER_COLUMNS} from pool_numbers n where n.pool_id = $1 order by n.id`,
    [poolId],
  );
  return rows;
}

/** One of the tenant's pools with its numbers, or null. */
export async function getPoolDetail(
  db: Pool,
  tenant: string,
  id: string,
): Promise<PoolDetail | null> {
  const pool = await findPool(db, tenant, id);
  return pool ? { ...pool, numbers: await listNumbers(db, id) } : null;
}

/**
 * Adds numbers to a pool (rate defaults to 1 message per second). Numbers already in the pool, and
 * repeats within `numbers`, are ignored. Returns how many were added.
 */
export async function addNumbers(
  db: Pool,
  poolId: string,
  numbers: readonly { number: string; ratePerSecond?: number }[],
): Promise<number> {
  const result = await db.query(
    `insert into pool_numbers (pool_id, number, rate_per_second)
     select $1, t.number, coalesce(t.rate, 1)
       from unnest($2::text[], $3::numeric[]) with ordinality as t(number, rate, ord)
      order by t.ord
     on conflict (pool_id, number) do nothing`,
    [poolId, numbers.map((n) => n.number), numbers.map((n) => n.ratePerSecond ?? null)],
  );
  return result.rowCount ?? 0;
}

/** Removes a number from a pool (its sticky assignments go with it). Returns false if it was not there. */
export async function removeNumber(db: Pool, poolId: string, number: string): Promise<boolean> {
  const result = await db.query('delete from pool_numbers where pool_id = $1 and number = $2', [
    poolId,
    number,
  ]);
  return (result.rowCount ?? 0) > 0;
}

/**
 * Takes a number out of rotation: pickers skip it and sticky subscribers move to another number of
 * the pool on their next message. Quarantining again keeps the first time and updates the reason.
 * Returns the number, or null if it is not in the pool. `reason` must not hold personal data.
 */
export async function quarantineNumber(
  db: Pool,
  poolId: string,
  number: string,
  reason: string,
): Promise<PoolNumberRecord | null> {
  const { rows } = await db.query<PoolNumberRecord>(
    `update pool_numbers n
        set status = 'quarantined', quarantined_at = coalesce(n.quarantined_at, now()),
            quarantine_reason = $3
      where n.pool_id = $1 and n.number = $2
      returning ${NUMBER_COLUMNS}`,
    [poolId, number, reason],
  );
  return rows[0] ?? null;
}

/** Puts a quarantined number back into rotation. Returns the number, or null if it is not in the pool. */
export async function releaseNumber(
  db: Pool,
  poolId: string,
  number: string,
): Promise<PoolNumberRecord | null> {
  const { rows } = await db.query<PoolNumberRecord>(
    `update pool_numbers n
        set status = 'active', quarantined_at = null, quarantine_reason = null
      where n.pool_id = $1 and n.number = $2
      returning ${NUMBER_COLUMNS}`,
    [poolId, number],
  );
  return rows[0] ?? null;
}
