import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app';
import { createCodecServer } from '../../codec-server/app';
import { listenMetrics } from '../../api/routes/metrics';
import {
  startHttpCarrierSimulator,
  type HttpCarrierSimulator,
} from '../../carriers/simulators/http/carrier';
import { startSmscSimulator, type SmscSimulator } from '../../carriers/simulators/smpp/smsc';
import { createDataConverter, createTemporalClient } from '../../clients/temporal';
import { vaultClientFor } from '../../clients/vault';
import { loadConfig, type CarrierConfig, type Config } from '../../config/config';
import { REGIONS } from '../../domain/regions';
import { createApiKey } from '../../scripts/keys';
import { SEEDED_PURPOSES, testSenderNumbers } from '../../scripts/seed-numbers';
import { createPipelineWorker, type PipelineWorker } from '../../workers/pipeline';
import { installRuntime } from '../../workers/temporal-logging';
import type { Logger } from 'pino';
import { newDbPool, silentLog, stack, unique } from './stack';
import { bundleWorkflows } from '../../workers/bundle';
import { FINAL_STATUSES } from '../../domain/statuses';
import { purgeSweepWorkflowId } from '../../workflows/retention';

/** A TCP port free right now on 127.0.0.1 (for servers that cannot bind port 0 and report it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The carrier entry of the i-th SMPP simulator a test started: `smsc-a` (priority 10), `smsc-b` (20)… */
export const smscCarrier = (s: SmscSimulator, i = 0): CarrierConfig => ({
  kind: 'smpp',
  name: `smsc-${String.fromCharCode(97 + i)}`,
  priority: (i + 1) * 10,
  countries: [],
  host: '127.0.0.1',
  port: s.port,
  systemId: 'sms',
  password: 'sms',
  windowSize: 10,
  throughputPerSecond: 1000,
});

let bundle: Promise<{ code: string }> | undefined;
/** The workflow bundle, built once per test file. */
export const workflowBundle = (): Promise<{ code: string }> =>
  (bundle ??= bundleWorkflows(require.resolve('../../workflows')));

export interface Pipeline {
  config: Config;
  tenant: string;
  apiKey: string;
  adminKey: string;
  base: string;
  /** The API's `/metrics` listener (a port of its own on 127.0.0.1, not `base`). */
  metricsUrl: string;
  app: FastifyInstance;
  /** The codec server's base URL (its own process in production), when started with `codecServer: true`. */
  codecBase?: string;
  smscs: SmscSimulator[];
  /** The HTTP carrier simulator, when started with `httpCarrier: true` (carrier name `http-a`). */
  http?: HttpCarrierSimulator;
  workers: PipelineWorker[];
  db: ReturnType<typeof newDbPool>;
  /** POST /v1/messages as the tenant. */
  send(body: Record<string, unknown>, headers?: Record<string, string>): Promise<Response>;
  /** GET /v1/messages/:id as the tenant. */
  get(id: string): Promise<{ status: string; [k: string]: unknown }>;
  /** Shuts the workers down (messages then wait in Temporal, nothing runs); `startWorkers` brings new ones. */
  stopWorkers(): Promise<void>;
  /** Starts one worker per region again, with the same configuration. */
  startWorkers(): Promise<void>;
  /** Polls until every id reaches a final status; returns their statuses. */
  waitFinal(
    ids: string[],
    timeoutMs?: number,
  ): Promise<Map<string, { status: string; [k: string]: unknown }>>;
  close(): Promise<void>;
}

const FINAL = new Set<string>(FINAL_STATUSES);

/**
 * A tenant ready to send: a sender key, an admin key, and fallback pools (any country) of fast long
 * codes per purpose, so the rate cap never slows a test down.
 */
export async function seedTenant(
  db: ReturnType<typeof newDbPool>,
  tenant: string,
): Promise<{ apiKey: string; adminKey: string }> {
  const { secret: apiKey } = await createApiKey(db, tenant, ['sender']);
  const { secret: adminKey } = await createApiKey(db, tenant, ['admin']);
  await db.query(
    `insert into number_pools (id, tenant, name, country, purpose, strategy) values ($1, $2, 'default', null, $3, 'lru')`,
    [`pool_${tenant}_otp`, tenant, 'otp'],
  );
  for (const purpose of ['transactional', 'marketing']) {
    await db.query(
      `insert into number_pools (id, tenant, name, country, purpose, strategy) values ($1, $2, $3, null, $4, 'lru')`,
      [`pool_${tenant}_${purpose}`, tenant, `default-${purpose}`, purpose],
    );
  }
  for (const purpose of SEEDED_PURPOSES) {
    for (const number of testSenderNumbers(purpose)) {
      await db.query(
        `insert into pool_numbers (pool_id, number, rate_per_second) values ($1, $2, 1000)`,
        [`pool_${tenant}_${purpose}`, number],
      );
    }
  }
  return { apiKey, adminKey };
}

/**
 * The whole pipeline in this process, on the real stack: SMPP simulators on ephemeral ports, one
 * worker per region on task queues unique to this test, the API on an ephemeral port, a fresh tenant
 * with a sender pool and API keys.
 */
export async function startPipeline({
  smscCount = 1,
  env = {},
  carriers,
  startWorkers = true,
  httpCarrier = false,
  codecServer = false,
  codecPort = 0,
  log = silentLog,
}: {
  smscCount?: number;
  env?: Record<string, string>;
  carriers?: (smscs: SmscSimulator[]) => CarrierConfig[];
  startWorkers?: boolean;
  /** Also start the HTTP carrier simulator, as carrier `http-a` with the lowest priority. */
  httpCarrier?: boolean;
  /** Also start the codec server (codec-server/app.ts, under the `codec-server` identity). */
  codecServer?: boolean;
  /** Port the codec server listens on; default ephemeral (the browser test needs the UI's codec port). */
  codecPort?: number;
  /** Where every part logs (API, workers, simulators, the Temporal runtime); silent by default. */
  log?: Logger;
} = {}): Promise<Pipeline> {
  // The SDK's Prometheus exporter is one per process (the runtime's); each worker's /metrics serves it.
  installRuntime(log, 'WARN', `127.0.0.1:${await freePort()}`);
  const smscs = await Promise.all(
    Array.from({ length: smscCount }, () =>
      startSmscSimulator({ port: 0, log: log, systemId: 'sms', password: 'sms' }),
    ),
  );
  const webhookSecret = 'test-http-carrier-webhook-secret';
  const http = httpCarrier
    ? await startHttpCarrierSimulator({
        port: 0,
        log: log,
        token: 'test-token',
        webhookSecret,
      })
    : undefined;
  const httpConfig: CarrierConfig[] = http
    ? [
        {
          kind: 'http',
          name: 'http-a',
          priority: 1000,
          countries: [],
          baseUrl: http.url,
          token: 'test-token',
          webhookSecret,
          throughputPerSecond: 1000,
          // The simulator listens on loopback, which outbound requests refuse unless allowed.
          allowCidrs: ['127.0.0.1/32'],
        },
      ]
    : [];
  const carrierList = carriers?.(smscs) ?? [...smscs.map(smscCarrier), ...httpConfig];
  const envOf = (c: Config) => ({
    TASK_QUEUE_PREFIX: c.temporal.taskQueuePrefix,
    WORKER_METRICS_PORT: '0',
    RECEIPT_TIMEOUT_SECONDS: String(c.receiptTimeoutSeconds),
    LOG_LEVEL: 'silent',
    ...env,
    CARRIERS: JSON.stringify(c.carriers),
  });
  const config = loadConfig({
    ...process.env,
    TASK_QUEUE_PREFIX: `${unique('t').toLowerCase()}-`,
    RECEIPT_TIMEOUT_SECONDS: '120',
    LOG_LEVEL: 'silent',
    // Tests poll hard with one key; test/e2e/security.test.ts checks the rate limit itself.
    API_RATE_LIMIT_MAX: '1000000',
    ...env,
    CARRIERS: JSON.stringify(carrierList),
  });
  const db = newDbPool();
  const tenant = unique('tenant').toLowerCase();
  const { apiKey, adminKey } = await seedTenant(db, tenant);

  const vault = vaultClientFor(config, 'api', { log });
  const { dataConverter } = createDataConverter(config, vault);
  const temporal = await createTemporalClient(config, vault, dataConverter);
  const app = await buildApp({ config, log: log, temporal, db, vault });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const codec = codecServer ? await createCodecServer(config, log) : undefined;
  const codecBase = await codec?.app.listen({ host: '127.0.0.1', port: codecPort });
  const metricsUrl = await listenMetrics(app, { host: '127.0.0.1', port: 0 }, log);
  // Workers give HTTP carriers the API's receipt webhook, known once the API listens.
  const workerConfig = loadConfig({ ...process.env, ...envOf(config), API_PUBLIC_URL: base });
  const newWorkers = async () =>
    Promise.all(
      REGIONS.map(async (region) =>
        createPipelineWorker({
          config: workerConfig,
          log: log,
          region,
          workflowBundle: await workflowBundle(),
        }),
      ),
    );
  const workers = startWorkers ? await newWorkers() : [];
  const running = workers.map((w) => w.run());
  const stopWorkers = async () => {
    for (const w of workers) w.worker.shutdown();
    await Promise.all(running);
    workers.length = 0;
    running.length = 0;
  };
  const auth = { authorization: `Bearer ${apiKey}` };

  const get = async (id: string) =>
    (await (await fetch(`${base}/v1/messages/${id}`, { headers: auth })).json()) as {
      status: string;
    };
  return {
    config,
    tenant,
    apiKey,
    adminKey,
    base,
    metricsUrl,
    app,
    codecBase,
    smscs,
    http,
    workers,
    db,
    send: (body, headers = {}) =>
      fetch(`${base}/v1/messages`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      }),
    get,
    stopWorkers,
    async startWorkers() {
      const started = await newWorkers();
      workers.push(...started);
      const runs = started.map((w) => w.run());
      running.push(...runs);
    },
    async waitFinal(ids, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      const out = new Map<string, { status: string }>();
      while (out.size < ids.length) {
        for (const id of ids) {
          if (out.has(id)) continue;
          const m = await get(id);
          if (FINAL.has(m.status)) out.set(id, m);
        }
        if (out.size < ids.length) {
          if (Date.now() > deadline) {
            const stuck = await Promise.all(
              ids
                .filter((id) => !out.has(id))
                .map(async (id) => `${id}: ${(await get(id)).status}`),
            );
            throw new Error(
              `${stuck.length} of ${ids.length} messages not final in time (${stuck.join(', ')})`,
            );
          }
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      return out;
    },
    async close() {
      await app.close();
      await codec?.close();
      await stopWorkers();
      // The region sweepers this test's workers started would otherwise stay open on dead task queues.
      await Promise.all(
        REGIONS.map((region) =>
          temporal.workflow
            .getHandle(purgeSweepWorkflowId(region, config.temporal.taskQueuePrefix))
            .terminate('test finished')
            .catch(() => undefined),
        ),
      );
      await temporal.connection.close();
      await Promise.all(smscs.map((s) => s.close()));
      await http?.close();
      await db.end();
    },
  };
}

/** What a pipeline process started by a test takes from the test's configuration: its task queues and carriers. */
export type ProcessConfig = { config: Pick<Config, 'temporal' | 'carriers'> };

/**
 * A real process of the pipeline (`processes/<entry>`), configured like the test's in-process parts
 * (its task queues and carriers), plus `env`. Started with `node --import tsx` (not the tsx CLI,
 * which forks) so the pid a test kills is the process itself.
 */
function startProcess(
  entry: string,
  args: string[],
  p: ProcessConfig,
  env: Record<string, string>,
): ChildProcess {
  return spawn(
    process.execPath,
    ['--import', 'tsx', join(stack.rootDir, 'processes', entry), ...args],
    {
      cwd: stack.rootDir,
      env: {
        ...process.env,
        TASK_QUEUE_PREFIX: p.config.temporal.taskQueuePrefix,
        CARRIERS: JSON.stringify(p.config.carriers),
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
}

/** A real worker process for the global region (`processes/worker.ts`); see {@link startProcess}. */
export const startWorkerProcess = (p: ProcessConfig, env: Record<string, string> = {}) =>
  startProcess('worker.ts', ['--region', 'global'], p, env);

/** A real API process (`processes/api.ts`, its start relay included); see {@link startProcess}. */
export const startApiProcess = (p: ProcessConfig, env: Record<string, string> = {}) =>
  startProcess('api.ts', [], p, env);
