/**
 * Per-message charges and the tenant's monthly spend in PostgreSQL: what a message was priced at,
 * giving a reservation back (the `releaseCharge` activity), and the usage report. Amounts are
 * micro-units (`domain/policy.ts`).
 */
import type { Pool } from 'pg';
import { toMicros } from '../domain/policy';

/** What the tenant has spent (charged, not released) in the month starting `month`, in micro-units. */
export async function monthSpend(db: Pool, tenant: string, month: string): Promise<number> {
  const { rows } = await db.query<{ spent: string }>(
    'select spent::text from tenant_spend where tenant = $1 and month = $2',
    [tenant, month],
  );
  return rows[0] ? toMicros(rows[0].spent) : 0;
}

/**
 * Gives a message's reservation back (it was never handed to a carrier: cancelled, failed before
 * submit, expired…): its charge becomes `released` and leaves the month's spend. Idempotent: only
 * the first call changes anything. False when there was nothing to release.
 */
export async function releaseCharge(db: Pool, messageId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `with c as (
       update message_charges set state = 'released', released_at = now()
        where message_id = $1 and state = 'charged'
        returning tenant, month, price
     )
     update tenant_spend s set spent = s.spent - c.price
       from c where s.tenant = c.tenant and s.month = c.month and c.price is not null`,
    [messageId],
  );
  const { rows } = await db.query<{ state: string }>(
    'select state from message_charges where message_id = $1',
    [messageId],
  );
  return (rowCount ?? 0) > 0 || rows[0]?.state === 'released';
}

/** A message's recorded price (for the status answer) and its request's keyed fingerprint (for a retried POST). */
export async function findCharge(
  db: Pool,
  messageId: string,
): Promise<
  | { price: number | null; carrier: string | null; state: string; requestFingerprint?: string }
  | undefined
> {
  const { rows } = await db.query<{
    price: string | null;
    carrier: string | null;
    state: string;
    request_fingerprint: string | null;
  }>(
    'select price::text, carrier, state, request_fingerprint from message_charges where message_id = $1',
    [messageId],
  );
  const r = rows[0];
  return (
    r && {
      price: r.price === null ? null : toMicros(r.price),
      carrier: r.carrier,
      state: r.state,
      requestFingerprint: r.request_fingerprint ?? undefined,
    }
  );
}

export interface UsageByCountry {
  country: string;
  messages: number;
  segments: number;
  /** Micro-units. */
  spend: number;
  unpriced: number;
  monitored: number;
}

/** The tenant's spend in one month: charged messages by country, and those released. */
export async function usageOf(
  db: Pool,
  tenant: string,
  month: string,
): Promise<{ spent: number; byCountry: UsageByCountry[]; released: number }> {
  const [spent, byCountry, released] = await Promise.all([
    monthSpend(db, tenant, month),
    db.query<{
      country: string;
      messages: number;
      segments: number;
      spend: string;
      unpriced: number;
      monitored: number;
    }>(
      `select country, count(*)::int as messages, sum(segments)::int as segments,
              coalesce(sum(price), 0)::text as spend,
              count(*) filter (where price is null)::int as unpriced,
              count(*) filter (where country_rule = 'monitor')::int as monitored
         from message_charges where tenant = $1 and month = $2 and state = 'charged'
        group by country order by country`,
      [tenant, month],
    ),
    db.query<{ n: number }>(
      `select count(*)::int as n from message_charges where tenant = $1 and month = $2 and state = 'released'`,
      [tenant, month],
    ),
  ]);
  return {
    spent,
    byCountry: byCountry.rows.map((r) => ({ ...r, spend: toMicros(r.spend) })),
    released: released.rows[0]?.n ?? 0,
  };
}

/**
 * The tenant's charge row of message `id` (country and admission time), or undefined: it tells a
 * message admitted before its status row was written at admission from one that does not exist.
 */
export async function findTenantCharge(
  db: Pool,
  id: string,
  tenant: string,
): Promise<{ country: string; createdAt: Date } | undefined> {
  const { rows } = await db.query<{ country: string; created_at: Date }>(
    'select country, created_at from message_charges where message_id = $1 and tenant = $2',
    [id, tenant],
  );
  const r = rows[0];
  return r && { country: r.country, createdAt: r.created_at };
}
