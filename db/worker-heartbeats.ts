import type { Pool } from 'pg';

/**
 * Worker liveness in PostgreSQL (table `worker_heartbeats`): each worker process writes its row every
 * {@link HEARTBEAT_INTERVAL_MS} while it polls, and marks it stopped on a graceful shutdown. The API
 * reads it to answer "does anyone poll this message's task queue?" without calling Temporal on the
 * read path; the anomaly detector reads it to alert on a region left without a worker.
 */

/** How often a worker writes its heartbeat. */
export const HEARTBEAT_INTERVAL_MS = 5_000;

/**
 * A heartbeat older than this means its worker is gone (killed, frozen, cut off from PostgreSQL):
 * three missed beats, so one slow write never makes a live worker look absent.
 */
export const HEARTBEAT_STALE_SECONDS = 15;

/** SQL condition on a `worker_heartbeats` row aliased `h`: its worker counts as polling. */
export const LIVE_WORKER = `h.stopped_at is null and h.seen_at > now() - make_interval(secs => ${HEARTBEAT_STALE_SECONDS})`;

/** A worker's row: what it polls. */
export interface WorkerBeat {
  identity: string;
  region: string;
  taskQueue: string;
}

/** Writes (or refreshes) a worker's heartbeat. */
export async function beat(db: Pool, w: WorkerBeat): Promise<void> {
  await db.query(
    `insert into worker_heartbeats (identity, region, task_queue) values ($1, $2, $3)
     on conflict (identity) do update
       set region = excluded.region, task_queue = excluded.task_queue, seen_at = now(), stopped_at = null`,
    [w.identity, w.region, w.taskQueue],
  );
}

/** Marks a worker stopped (graceful shutdown): its queue counts as unpolled from now on, not 15 s later. */
export async function markStopped(db: Pool, identity: string): Promise<void> {
  await db.query(
    `update worker_heartbeats set stopped_at = now(), seen_at = now() where identity = $1`,
    [identity],
  );
}

/**
 * Keeps a worker's heartbeat while it runs: one beat now, then every {@link HEARTBEAT_INTERVAL_MS}.
 * A failed write is reported to `onError` and retried at the next beat (the worker keeps polling).
 * `stop()` ends the beats and marks the worker stopped.
 */
export function keepHeartbeat(
  db: Pool,
  w: WorkerBeat,
  onError: (err: Error) => void,
): { stop(): Promise<void> } {
  const once = () => beat(db, w).catch(onError);
  let last = once();
  const timer = setInterval(() => {
    last = once();
  }, HEARTBEAT_INTERVAL_MS).unref();
  return {
    async stop() {
      clearInterval(timer);
      await last;
      await markStopped(db, w.identity).catch(onError);
    },
  };
}

/** Unfinished messages (accepted, not final, not purged) of the regions whose task queue has no live worker. */
export async function waitingForWorker(
  db: Pool,
  taskQueueOf: (region: string) => string,
  regions: readonly string[],
): Promise<Map<string, number>> {
  const { rows } = await db.query<{ region: string; n: number }>(
    `select r.region, (select count(*)::int from messages m
                        where m.region = r.region and m.completed_at is null and m.purged_at is null) as n
       from unnest($1::text[], $2::text[]) as r(region, task_queue)
      where not exists (select 1 from worker_heartbeats h where h.task_queue = r.task_queue and ${LIVE_WORKER})`,
    [regions, regions.map(taskQueueOf)],
  );
  return new Map(rows.map((r) => [r.region, r.n]));
}

/** Whether `taskQueue` has a live worker now. */
export async function hasLiveWorker(db: Pool, taskQueue: string): Promise<boolean> {
  const { rows } = await db.query<{ live: boolean }>(
    `select exists (select 1 from worker_heartbeats h where h.task_queue = $1 and ${LIVE_WORKER}) as live`,
    [taskQueue],
  );
  return rows[0]!.live;
}

/**
 * For each region that has had a worker on a task queue named by `taskQueueOf`: the seconds since
 * one last polled it (0 while one is live). Regions that never had a worker there are left out.
 */
export async function regionSilence(
  db: Pick<Pool, 'query'>,
  taskQueueOf: (region: string) => string,
  regions: readonly string[],
): Promise<{ region: string; silentSeconds: number }[]> {
  const { rows } = await db.query<{ region: string; silent: number }>(
    `select r.region,
            case when bool_or(${LIVE_WORKER}) then 0
                 else extract(epoch from now() - max(coalesce(h.stopped_at, h.seen_at)))::float8 end as silent
       from unnest($1::text[], $2::text[]) as r(region, task_queue)
       join worker_heartbeats h on h.task_queue = r.task_queue
      group by r.region`,
    [regions, regions.map(taskQueueOf)],
  );
  return rows.map((r) => ({ region: r.region, silentSeconds: Number(r.silent) }));
}
