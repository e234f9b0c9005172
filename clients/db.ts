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
