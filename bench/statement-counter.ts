import pg from 'pg';

/** Connections with this application name are the bench's own (progress, latencies): not counted. */
export const MONITOR_APP = 'sms-bench-monitor';

let statements = 0;
let installed = false;

/**
 * Counts every statement this process sends to PostgreSQL (BEGIN and COMMIT included), except on
 * the bench's monitor connections, by wrapping `pg.Client.prototype.query`. Returns the reader.
 */
export function countStatements(): () => number {
  if (!installed) {
    installed = true;
    const clientQuery = pg.Client.prototype.query as (...args: unknown[]) => unknown;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const app = (this as unknown as { connectionParameters?: { application_name?: string } })
        .connectionParameters?.application_name;
      if (app !== MONITOR_APP) statements++;
      return clientQuery.apply(this, args);
    } as typeof pg.Client.prototype.query;
  }
  return () => statements;
}
