import type { Pool } from 'pg';

/** Seconds from `now` to the next UTC midnight, when the daily quota starts again (at least 1). */
export function secondsToUtcMidnight(now: Date): number {
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return Math.max(1, Math.ceil((next - now.getTime()) / 1000));
}

/** Sets a tenant's daily send quota (an admin or test operation). */
export async function setSendQuota(db: Pool, tenant: string, sendsPerDay: number): Promise<void> {
  await db.query(
    `insert into tenant_quotas (tenant, sends_per_day) values ($1, $2)
     on conflict (tenant) do update set sends_per_day = excluded.sends_per_day, updated_at = now()`,
    [tenant, sendsPerDay],
  );
}
