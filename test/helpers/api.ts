import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Pool } from 'pg';
import { buildApp } from '../../api/app';
import { createDataConverter, createTemporalClient } from '../../clients/temporal';
import { vaultClientFor } from '../../clients/vault';
import { loadConfig, type Config } from '../../config/config';
import { freePort } from './pipeline';
import { newDbPool, silentLog, unique } from './stack';

export interface TestApi {
  app: FastifyInstance;
  config: Config;
  db: Pool;
  temporal: Client;
  /** Every workflow start the app made, by workflow id. */
  started: string[];
  close(): Promise<void>;
}

/**
 * The API alone on the real stack (Temporal, OpenBao, PostgreSQL), without workers: a started
 * workflow waits on a task queue of its own (unique prefix) that nobody polls. Workflow starts are
 * recorded in `started`, so a test can prove a refused request reached no workflow.
 */
export async function startApi(
  env: Record<string, string> = {},
  log: Logger = silentLog,
): Promise<TestApi> {
  const config = loadConfig({
    ...process.env,
    TASK_QUEUE_PREFIX: `${unique('sec').toLowerCase()}-`,
    LOG_LEVEL: 'silent',
    ...env,
  });
  const db = newDbPool();
  const vault = vaultClientFor(config, 'api', { log });
  const { dataConverter } = createDataConverter(config, vault);
  const temporal = await createTemporalClient(config, vault, dataConverter);
  const started: string[] = [];
  // Every start goes through the connection's service (the relay starts with the outbox's encoded
  // arguments as they are; the routes through their region's client).
  const service = temporal.workflowService;
  const start = service.startWorkflowExecution.bind(service);
  service.startWorkflowExecution = ((req: { workflowId?: string | null }) => {
    started.push(req.workflowId ?? '');
    return start(req as never);
  }) as typeof service.startWorkflowExecution;
  const app = await buildApp({ config, log, temporal, db, vault });
  await app.ready();
  return {
    app,
    config,
    db,
    temporal,
    started,
    async close() {
      await app.close();
      // Nothing will ever run them: terminate what the test started.
      await Promise.all(
        started.map((id) =>
          temporal.workflow
            .getHandle(id)
            .terminate('test over')
            .catch(() => undefined),
        ),
      );
      await temporal.connection.close();
      await db.end();
    },
  };
}

/**
 * One request to the API at `base` with `key` as its bearer token and `body` (when given) as JSON:
 * the status, the headers and the parsed body (undefined when the answer is empty).
 */
export async function callWithKey(
  base: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert on its shape
): Promise<{ status: number; headers: Headers; json: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}

/**
 * A second API process whose Temporal is unreachable (nothing listens on its port; no gRPC
 * retries): what it accepts waits in `workflow_starts`. `close` closes the app and its connection.
 */
export async function startApiWithoutTemporal(
  db: Pool,
  env: Record<string, string> = {},
): Promise<{ app: FastifyInstance; close(): Promise<void> }> {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent', ...env });
  const vault = vaultClientFor(config, 'api', { log: silentLog });
  const { dataConverter } = createDataConverter(config, vault);
  const connection = Connection.lazy({
    address: `127.0.0.1:${await freePort()}`,
    interceptors: [],
  });
  const temporal = new Client({ connection, namespace: config.temporal.namespace, dataConverter });
  const app = await buildApp({ config, log: silentLog, temporal, db, vault });
  return {
    app,
    async close() {
      await app.close();
      await connection.close().catch(() => undefined);
    },
  };
}
