import pg from 'pg';
import type { Config } from '../config/config';

/** A PostgreSQL pool for the process; statements time out so a stuck query cannot hold an activity forever. */
export function createDbPool(config: Config['database'], applicationName: string): pg.Pool {
  return new pg.Pool({
    connectionString: config.url,
    max: config.poolSize,
    application_name: applicationName,
    statement_timeout: 15_000,
    connectionTimeoutMillis: 5_000,
  });
}

/**
 * Times every `pool.query` (promise form) into `observe(seconds, ok)`: the database-latency metric.
 * Queries on a checked-out client (transactions) are not timed; acquiring the client is, as part of
 * the first `pool.query` that waits for one.
 */
export function observeQueries(
  pool: pg.Pool,
  observe: (seconds: number, ok: boolean) => void,
): pg.Pool {
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  const timed = (...args: unknown[]) => {
    if (typeof args[args.length - 1] === 'function') return query(...args);
    const start = process.hrtime.bigint();
    const done = (ok: boolean) => observe(Number(process.hrtime.bigint() - start) / 1e9, ok);
    return (query(...args) as Promise<unknown>).then(
      (r) => {
        done(true);
        return r;
      },
      (err: unknown) => {
        done(false);
        throw err;
      },
    );
  };
  (pool as unknown as { query: typeof timed }).query = timed;
  return pool;
}
