import type { Pool } from 'pg';
import { appendAudit } from './audit';

/** One usage window: counters and the "first use" audit entry are per key and per hour. */
export const USAGE_WINDOW_MS = 3_600_000;

/**
 * Key use, audited without an audit append per request (appends serialize on the chain's lock, a
 * few hundred per second at most, and the send path must not queue behind them).
 *
 * - The first use of a key in each hour window is audited once (`api_key.used`, detail: the window),
 *   across all API processes: the process whose insert creates the `api_key_usage` row appends it.
 *   A process remembers the windows it has seen, so this costs one query per key and hour.
 * - Every request is counted in memory and the counts are added to `api_key_usage.requests` (and
 *   `api_keys.last_used_at`) every `flushMs` and on close. A crash loses at most that many seconds
 *   of counts; the audit entry of the window is already written by then.
 */
export class KeyUsageRecorder {
  private readonly seen = new Map<string, number>();
  private counts = new Map<string, { windowStart: number; tenant: string; n: number }>();
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Pool,
    private readonly flushMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one request of a key; on the key's first request of the window in this process, records (and maybe audits) the window. */
  async record(keyId: string, tenant: string): Promise<void> {
    const windowStart = Math.floor(this.now() / USAGE_WINDOW_MS) * USAGE_WINDOW_MS;
    const slot = `${keyId}@${windowStart}`;
    const c = this.counts.get(slot);
    if (c) c.n++;
    else this.counts.set(slot, { windowStart, tenant, n: 1 });
    this.timer ??= setTimeout(() => void this.flush(), this.flushMs).unref();
    if (this.seen.get(keyId) === windowStart) return;
    const { rowCount } = await this.db.query(
      `insert into api_key_usage (key_id, window_start) values ($1, to_timestamp($2 / 1000.0))
       on conflict do nothing`,
      [keyId, windowStart],
    );
    this.seen.set(keyId, windowStart);
    if (rowCount === 1) {
      await appendAudit(this.db, {
        actor: keyId,
        tenant,
        action: 'api_key.used',
        subject: keyId,
        detail: { window: new Date(windowStart).toISOString() },
      });
    }
  }

  /** Adds the counts gathered since the last flush to the database. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.counts;
    this.counts = new Map();
    if (batch.size === 0) return this.flushing;
    const rows = [...batch].map(([slot, c]) => ({ key: slot.split('@')[0]!, ...c }));
    this.flushing = this.flushing
      .then(() =>
        this.db.query(
          `with b as (select * from unnest($1::text[], $2::float8[], $3::bigint[]) as b(key_id, ms, n)),
                u as (insert into api_key_usage as t (key_id, window_start, requests)
                        select key_id, to_timestamp(ms / 1000.0), n from b
                        on conflict (key_id, window_start) do update set requests = t.requests + excluded.requests)
           update api_keys k set last_used_at = greatest(k.last_used_at, now())
             from (select distinct key_id from b) d where k.id = d.key_id`,
          [rows.map((r) => r.key), rows.map((r) => r.windowStart), rows.map((r) => r.n)],
        ),
      )
      .then(
        () => undefined,
        () => undefined, // counters are best effort; the next flush carries on
      );
    return this.flushing;
  }
}
