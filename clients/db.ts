import pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config/config';

/**
 * SQLSTATEs and socket errors that mean "PostgreSQL is not reachable right now" (not "this statement is
 * wrong"): the server shutting down or starting (57P01-57P03), connection exceptions (class 08), too
 * many connections (53300), and the socket's own errors.
 */
const UNAVAILABLE_CODES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** The messages `pg` and `pg-pool` throw without a code when the connection is lost or cannot be made. */
const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end on the pool',
];

/**
 * True when `err` says the database (or another dependency over a socket) cannot be reached right now:
 * the request may succeed if retried later, so the API answers 503 with Retry-After, not 500.
 */
export function isUnavailableError(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((m) => message.startsWith(m)))
      return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * A PostgreSQL pool for the process; statements time out so a stuck query cannot hold an activity forever.
 *
 * A server restart terminates every session (57P01). `pg` reports that on an idle pooled client as the
 * pool's `error` event, and on a checked-out client between two queries as the client's: an `error`
 * event nobody listens to ends the process. Both are listened to here and logged (name and code only);
 * the broken client is dropped and the next query opens a new session once PostgreSQL is back.
 */
export function createDbPool(
  config: Config['database'],
  applicationName: string,
  log?: Pick<Logger, 'warn'>,
): pg.Pool {
  const pool = new pg.Pool({
    connectionString: config.url,
    max: config.poolSize,
    application_name: applicationName,
    statement_timeout: 15_000,
    connectionTimeoutMillis: 5_000,
  });
  const lost = (err: Error & { code?: string }) =>
    log?.warn(
      { error: err.name, code: err.code, pool: applicationName },
      'PostgreSQL session lost; the pool reconnects on the next query',
    );
  pool.on('error', lost);
  // A checked-out client's own error event (a transaction waiting on something else when the server
  // goes): the pool removes its idle listener while a client is out, so one stays here for good.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
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
