import type { Pool } from 'pg';

export type QuotaVerdict =
  | { ok: true; used: number; limit: number }
  | { ok: false; limit: number; retryAfterSeconds: number };

/** Seconds from `now` to the next UTC midnight, when the daily quota starts again (at least 1). */
export function secondsToUtcMidnight(now: Date): number {
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return Math.max(1, Math.ceil((next - now.getTime()) / 1000));
}

/**
 * Takes one send from the tenant's quota for today (UTC), atomically across API processes: the
 * counter row is raised only while it is below the limit (`tenant_quotas.sends_per_day`, else
 * `defaultPerDay`). One single-row upsert per send; no audit append.
 */
export async function consumeSendQuota(
  db: Pool,
  tenant: string,
  defaultPerDay: number,
  now = new Date(),
): Promise<QuotaVerdict> {
  const { rows } = await db.query<{ sends: number | null; limit: number }>(
    `with q as (select coalesce((select sends_per_day from tenant_quotas where tenant = $1), $2::int) as lim),
          u as (insert into tenant_send_usage as t (tenant, day, sends)
                  select $1, ($3::timestamptz at time zone 'UTC')::date, 1 from q where q.lim > 0
                  on conflict (tenant, day) do update set sends = t.sends + 1
                    where t.sends < (select lim from q)
                  returning t.sends)
     select (select sends from u) as sends, (select lim from q) as "limit"`,
    [tenant, defaultPerDay, now],
  );
  const row = rows[0]!;
  if (row.sends === null) {
    return { ok: false, limit: row.limit, retryAfterSeconds: secondsToUtcMidnight(now) };
  }
  return { ok: true, used: row.sends, limit: row.limit };
}

/** Gives one send back (the request did not start a new message: an idempotent retry, or the start failed). */
export async function refundSendQuota(db: Pool, tenant: string, now = new Date()): Promise<void> {
  await db.query(
    `update tenant_send_usage set sends = sends - 1
      where tenant = $1 and day = ($2::timestamptz at time zone 'UTC')::date and sends > 0`,
    [tenant, now],
  );
}

/** Sets a tenant's daily send quota (an admin or test operation). */
export async function setSendQuota(db: Pool, tenant: string, sendsPerDay: number): Promise<void> {
  await db.query(
    `insert into tenant_quotas (tenant, sends_per_day) values ($1, $2)
     on conflict (tenant) do update set sends_per_day = excluded.sends_per_day, updated_at = now()`,
    [tenant, sendsPerDay],
  );
}
