/**
 * Operations data in PostgreSQL: dispatch outcomes and per-key API volume (what the anomaly detector
 * reads), its baselines, episodes and alerts, and the review-queue reading behind the metrics.
 * Carriers, countries, our sender numbers, tenants and API key ids only: nothing personal.
 */
import type { Pool, PoolClient } from 'pg';
import type { AlertKind, AnomalyKind, Baseline } from '../domain/anomaly';

type Db = Pool | PoolClient;

export type DispatchOutcome = 'submitted' | 'rejected' | 'undelivered';

/** Records one carrier submit outcome, or a message reported undelivered; tenant and country come from the message row. */
export async function recordDispatchOutcome(
  db: Db,
  o: {
    messageId: string;
    carrier: string;
    sender?: string | null;
    outcome: DispatchOutcome;
    errorType?: string;
  },
): Promise<void> {
  await db.query(
    `insert into dispatch_outcomes (message_id, tenant, carrier, sender, country, outcome, error_type)
     select m.id, m.tenant, $2, coalesce($3, m.sender), m.country, $4, $5 from messages m where m.id = $1`,
    [o.messageId, o.carrier, o.sender ?? null, o.outcome, o.errorType ?? null],
  );
}

/**
 * A carrier accepted the message: its status becomes `submitted` (row and history event) and the
 * outcome is counted for the anomaly detector, in one statement.
 */
export async function recordSubmitted(
  db: Db,
  s: { messageId: string; carrier: string; sender: string; detail: string },
): Promise<void> {
  await db.query(
    `with m as (
       update messages set status = 'submitted', carrier = $2, sender = $3, submitted_at = now(), updated_at = now()
        where id = $1
        returning id, tenant, country
     ), e as (
       insert into message_events (message_id, status, carrier, detail) values ($1, 'submitted', $2, $4)
     )
     insert into dispatch_outcomes (message_id, tenant, carrier, sender, country, outcome, error_type)
     select m.id, m.tenant, $2, $3, m.country, 'submitted', null from m`,
    [s.messageId, s.carrier, s.sender, s.detail],
  );
}

/**
 * Some parts of a message were acknowledged by `carrier` and the rest are not (yet): the message row
 * names the carrier and sender, so `GET /v1/messages/:id` shows where its parts went, and a
 * `submitted` event says how many. Not a dispatch outcome: the submit's own outcome row follows.
 */
export async function recordPartialSubmit(
  db: Db,
  s: { messageId: string; carrier: string; sender: string; detail: string },
): Promise<void> {
  await db.query(
    `with m as (
       update messages set status = 'submitted', carrier = $2, sender = $3,
              submitted_at = coalesce(submitted_at, now()), updated_at = now()
        where id = $1
        returning id
     )
     insert into message_events (message_id, status, carrier, detail) select id, 'submitted', $2, $4 from m`,
    [s.messageId, s.carrier, s.sender, s.detail],
  );
}

/** Adds request counts per (key, tenant, minute), as the API's usage buffer flushes them. */
export async function addApiKeyUsage(
  db: Db,
  rows: readonly { keyId: string; tenant: string; minute: Date; requests: number }[],
): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `insert into api_key_volume (key_id, tenant, minute, requests)
     select * from unnest($1::text[], $2::text[], $3::timestamptz[], $4::int[])
     on conflict (key_id, minute) do update set requests = api_key_volume.requests + excluded.requests`,
    [
      rows.map((r) => r.keyId),
      rows.map((r) => r.tenant),
      rows.map((r) => r.minute),
      rows.map((r) => r.requests),
    ],
  );
}

/**
 * Depth and oldest age of the review queue (`review_tasks`, built by the review feature). Until that
 * table exists both are 0. A task counts as waiting while it has no decision: `status` is one of
 * pending/open/leased when the table has a `status` column, else every row counts.
 */
export async function reviewQueueStats(
  db: Db,
): Promise<{ depth: number; oldestAgeSeconds: number }> {
  const { rows: cols } = await db.query<{ column_name: string }>(
    `select column_name from information_schema.columns
      where table_schema = current_schema() and table_name = 'review_tasks'`,
  );
  if (cols.length === 0) return { depth: 0, oldestAgeSeconds: 0 };
  const names = new Set(cols.map((c) => c.column_name));
  const waiting = names.has('status') ? `where status in ('pending', 'open', 'leased')` : '';
  const age = names.has('created_at')
    ? `coalesce(extract(epoch from now() - min(created_at)), 0)::float8`
    : '0::float8';
  const { rows } = await db.query<{ depth: number; age: number }>(
    `select count(*)::int as depth, ${age} as age from review_tasks ${waiting}`,
  );
  return { depth: rows[0]?.depth ?? 0, oldestAgeSeconds: rows[0]?.age ?? 0 };
}

// ---------------------------------------------------------------------------------------------
// The anomaly detector's reads and writes

/** One subject's observation in a window: a failure rate (0–1) or requests per minute, and its volume. */
export interface Observation {
  kind: AnomalyKind;
  subject: string;
  value: number;
  volume: number;
}

/**
 * Locks the detector's watermark row for this transaction and returns the window to evaluate:
 * from the watermark (or `to - firstWindowMs` on the first run) to `to`.
 */
export async function lockWindow(
  tx: PoolClient,
  detector: string,
  firstWindowMs: number,
): Promise<{ from: Date; to: Date }> {
  await tx.query(
    `insert into anomaly_watermarks (detector, evaluated_until)
     values ($1, now() - make_interval(secs => $2::float8 / 1000)) on conflict do nothing`,
    [detector, firstWindowMs],
  );
  const { rows } = await tx.query<{ from: Date; to: Date }>(
    `select evaluated_until as "from", now() as "to" from anomaly_watermarks where detector = $1 for update`,
    [detector],
  );
  return rows[0]!;
}

export async function advanceWindow(tx: PoolClient, detector: string, to: Date): Promise<void> {
  await tx.query(`update anomaly_watermarks set evaluated_until = $2 where detector = $1`, [
    detector,
    to,
  ]);
}

/**
 * Failure rates per carrier, country and (tenant, sender) in `(from, to]`, and per-key requests per
 * minute over the minutes that closed in it.
 *
 * Throttling is never a failure (the carrier works as designed; the adapter slows down). A sender
 * number's series counts only what its number can cause: failed receipts (not a partial send cut by
 * the validity) and permanent refusals. A carrier-wide outage (unreachable, timeouts, system errors)
 * shows in the carrier's and country's series and never quarantines a number.
 */
export async function observe(
  tx: PoolClient,
  { from, to }: { from: Date; to: Date },
): Promise<Observation[]> {
  const counted = `not (outcome = 'rejected' and error_type is not distinct from 'CARRIER_THROTTLED')`;
  const rate = `count(*) filter (where outcome in ('rejected', 'undelivered') and ${counted})::float8
                  / greatest(count(*) filter (where outcome in ('submitted', 'rejected') and ${counted}), 1)`;
  const volume = `count(*) filter (where outcome in ('submitted', 'rejected') and ${counted})::int`;
  const byNumber = `(outcome = 'undelivered' and coalesce(error_type, '') not like 'partial_send%')
                     or (outcome = 'rejected' and error_type = 'CARRIER_PERMANENT')`;
  const senderRate = `count(*) filter (where ${byNumber})::float8
                  / greatest(count(*) filter (where outcome = 'submitted' or (outcome = 'rejected' and error_type = 'CARRIER_PERMANENT')), 1)`;
  const senderVolume = `count(*) filter (where outcome = 'submitted' or (outcome = 'rejected' and error_type = 'CARRIER_PERMANENT'))::int`;
  const { rows } = await tx.query<Observation>(
    `with w as (select * from dispatch_outcomes where at > $1 and at <= $2)
     select 'carrier_failure' as kind, carrier as subject, ${rate} as value, ${volume} as volume from w group by carrier
     union all
     select 'country_failure', country, ${rate}, ${volume} from w where country is not null group by country
     union all
     select 'sender_failure', tenant || '/' || sender, ${senderRate}, ${senderVolume} from w where sender is not null group by tenant, sender
     union all
     select 'key_volume', key_id, sum(requests)::float8
              / greatest(extract(epoch from date_trunc('minute', $2::timestamptz) - date_trunc('minute', $1::timestamptz)) / 60, 1),
            sum(requests)::int
       from api_key_volume
      where minute >= date_trunc('minute', $1::timestamptz) and minute < date_trunc('minute', $2::timestamptz)
      group by key_id`,
    [from, to],
  );
  return rows.map((r) => ({
    ...r,
    value: Math.min(Number(r.value), r.kind === 'key_volume' ? Infinity : 1),
  }));
}

export async function loadBaselines(
  tx: PoolClient,
  detector: string,
): Promise<Map<string, Baseline>> {
  const { rows } = await tx.query<{
    kind: string;
    subject: string;
    mean: number;
    variance: number;
    samples: number;
    episode: boolean;
  }>(
    `select kind, subject, mean, variance, samples, episode_started_at is not null as episode
       from anomaly_baselines where detector = $1`,
    [detector],
  );
  return new Map(
    rows.map((r) => [
      `${r.kind}\n${r.subject}`,
      { mean: r.mean, variance: r.variance, samples: r.samples, episodeOpen: r.episode },
    ]),
  );
}

export async function saveBaseline(
  tx: PoolClient,
  detector: string,
  kind: AlertKind,
  subject: string,
  b: Baseline,
): Promise<void> {
  await tx.query(
    `insert into anomaly_baselines (detector, kind, subject, mean, variance, samples, episode_started_at)
     values ($1, $2, $3, $4, $5, $6, case when $7 then now() end)
     on conflict (detector, kind, subject) do update
       set mean = excluded.mean, variance = excluded.variance, samples = excluded.samples,
           episode_started_at = case when $7 then coalesce(anomaly_baselines.episode_started_at, now()) end,
           updated_at = now()`,
    [detector, kind, subject, b.mean, b.variance, b.samples, b.episodeOpen],
  );
}

export async function insertAlert(
  tx: PoolClient,
  detector: string,
  a: Omit<Observation, 'kind'> & { kind: AlertKind; baseline: number; quarantined: string[] },
): Promise<void> {
  await tx.query(
    `insert into anomaly_alerts (detector, kind, subject, value, baseline, volume, quarantined)
     values ($1, $2, $3, $4, $5, $6, $7)`,
    [detector, a.kind, a.subject, a.value, a.baseline, a.volume, a.quarantined],
  );
}

/** Quarantines `sender` in every pool of `tenant` where it is active; returns the pool ids. */
export async function quarantineSender(
  tx: PoolClient,
  tenant: string,
  sender: string,
  reason: string,
): Promise<string[]> {
  const { rows } = await tx.query<{ pool_id: string }>(
    `update pool_numbers n
        set status = 'quarantined', quarantined_at = coalesce(n.quarantined_at, now()), quarantine_reason = $3
       from number_pools p
      where p.id = n.pool_id and p.tenant = $1 and n.number = $2 and n.status = 'active'
      returning n.pool_id`,
    [tenant, sender, reason],
  );
  return rows.map((r) => r.pool_id);
}
