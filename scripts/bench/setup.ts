/**
 * The bench's stack: the carrier simulator in this process, the API and a global-region worker in
 * processes of their own (bench/api-process.ts, bench/worker-process.ts, as `npm start` runs them;
 * `--api-processes N` and `--workers N` start N of each), a tenant per phase, the database pools and
 * the baseline's Temporal client.
 */
import { execFileSync } from 'node:child_process';
import { Agent } from 'node:http';
import { join } from 'node:path';
import pino from 'pino';
import type { Pool } from 'pg';
import type { FromApi, ToApi } from '../../bench/api-process';
import { BenchChild, type ChildStats } from '../../bench/child';
import { MONITOR_APP } from '../../bench/statement-counter';
import type { FromWorker, ToWorker } from '../../bench/worker-process';
import { startHttpCarrierSimulator } from '../../carriers/simulators/http/carrier';
import { startSmscSimulator } from '../../carriers/simulators/smpp/smsc';
import { createDbPool } from '../../clients/db';
import { createDataConverter, createTemporalClient } from '../../clients/temporal';
import { vaultClientFor } from '../../clients/vault';
import { loadConfig, type CarrierConfig } from '../../config/config';
import { createLogger } from '../../config/logger';
import { ROOT_DIR } from '../../config/paths';
import { loadStackConfig } from '../../config/stack';
import { createApiKey } from '../keys';
import { benchSenderNumbers } from '../seed-numbers';
import type { BenchArgs } from './args';

type Logger = ReturnType<typeof createLogger>;

/** The SMPP simulator (always), the HTTP one with `--carrier http`, and the carrier list naming the one used. */
async function startCarriers(carrierKind: string, log: Logger) {
  const smsc = await startSmscSimulator({ port: 0, log, systemId: 'sms', password: 'sms' });
  const http =
    carrierKind === 'http'
      ? await startHttpCarrierSimulator({
          port: 0,
          log,
          token: 'bench',
          webhookSecret: 'bench-webhook-secret-0123',
        })
      : undefined;
  const carriers: CarrierConfig[] = http
    ? [
        {
          kind: 'http',
          name: 'bench-http',
          priority: 1,
          countries: [],
          baseUrl: http.url,
          token: 'bench',
          webhookSecret: 'bench-webhook-secret-0123',
          throughputPerSecond: 100000,
          // The simulator listens on loopback, which outbound requests refuse unless allowed.
          allowCidrs: ['127.0.0.1/32'],
        },
      ]
    : [
        {
          kind: 'smpp',
          name: 'bench-smsc',
          priority: 1,
          countries: [],
          host: '127.0.0.1',
          port: smsc.port,
          systemId: 'sms',
          password: 'sms',
          windowSize: 50,
          throughputPerSecond: 100000,
        },
      ];
  return { smsc, http, carriers };
}

/** A tenant of its own for a phase of the run, with a sender key and a pool of 10 numbers. */
async function newTenant(db: Pool, label: string) {
  const tenant = `bench-${Date.now().toString(36)}${label}`;
  const { secret } = await createApiKey(db, tenant, ['sender']);
  await db.query(
    `insert into number_pools (id, tenant, name, country, purpose, strategy) values ($1, $2, 'bench', null, 'otp', 'lru')`,
    [`pool_${tenant}`, tenant],
  );
  for (const number of benchSenderNumbers(10))
    await db.query(
      'insert into pool_numbers (pool_id, number, rate_per_second) values ($1, $2, 100000)',
      [`pool_${tenant}`, number],
    );
  return { tenant, secret };
}

/** Brings up (or reuses) the local stack and starts everything the run needs, ready to send. */
export async function setUp(args: BenchArgs) {
  execFileSync(
    join(ROOT_DIR, 'node_modules', '.bin', 'tsx'),
    [join(ROOT_DIR, 'scripts', 'stack.ts'), 'up'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  // Logs go to stderr, so stdout carries only the JSON result.
  const log = createLogger('bench', 'warn', pino.destination(2));
  const { smsc, http, carriers } = await startCarriers(args.carrier, log);
  const prefix = `bench${Date.now().toString(36)}-`;
  const env = {
    ...process.env,
    TASK_QUEUE_PREFIX: prefix,
    CARRIERS: JSON.stringify(carriers),
    LOG_LEVEL: 'warn',
    RECEIPT_TIMEOUT_SECONDS: '600',
    // Any free port: a running `npm start` worker may hold the default one.
    WORKER_METRICS_PORT: '0',
    API_METRICS_PORT: '0',
    // The bench measures the pipeline, not the per-key rate limiter (one key sends everything).
    API_RATE_LIMIT_MAX: '1000000000',
  };
  const config = loadConfig(env);
  const flavour = loadStackConfig(env).temporal.flavour;
  const db = createDbPool(config.database, 'sms-bench');
  // The bench's own reads (progress, latencies, counters) go through a pool of their own, which the
  // statement counter leaves out.
  const monitor = createDbPool(config.database, MONITOR_APP);
  const warm = await newTenant(db, '-warmup');
  const main = await newTenant(db, '');

  // The API and the workers run in processes of their own (bench/api-process.ts,
  // bench/worker-process.ts), as with `npm start`: N API processes, each on a port of its own with its
  // own start relay, and N global-region workers polling the same task queues.
  const apis = Array.from(
    { length: args.apiProcesses },
    () => new BenchChild<ToApi, FromApi>('api-process.ts', env),
  );
  const bases = (await Promise.all(apis.map((api) => api.next('ready')))).map((r) => r.base);
  const workers = Array.from(
    { length: args.workers },
    (_, i) =>
      new BenchChild<ToWorker, FromWorker>('worker-process.ts', {
        ...env,
        API_PUBLIC_URL: bases[i % bases.length],
      }),
  );
  await Promise.all(workers.map((worker) => worker.next('ready')));
  // The baseline's client: the API's settings and codec key (codec-global), under the global worker's
  // identity: it awaits the baseline workflows' results, which the API's identity may not decrypt.
  const vault = vaultClientFor(config, 'worker-global', { log });
  const { dataConverter } = createDataConverter(config, vault);
  const temporal = await createTemporalClient(config, vault, dataConverter);
  // Keep-alive connections, at most C: the API sees what a client with a connection pool sends.
  const agent = new Agent({ keepAlive: true, maxSockets: args.concurrency });
  return {
    smsc,
    http,
    prefix,
    flavour,
    db,
    monitor,
    warm,
    main,
    apis,
    bases,
    workers,
    temporal,
    agent,
  };
}

export type Bench = Awaited<ReturnType<typeof setUp>>;

/**
 * Several processes' counters as one: statements, Vault requests and CPU time summed (per-message
 * figures count every process's), memory and event-loop delay the largest of any one process.
 */
export function mergeStats(stats: readonly ChildStats[]): ChildStats {
  const max = (f: (s: ChildStats) => number) => Math.max(...stats.map(f));
  const sum = (f: (s: ChildStats) => number) => stats.reduce((n, s) => n + f(s), 0);
  return {
    type: 'stats',
    statements: sum((s) => s.statements),
    vaultRequests: sum((s) => s.vaultRequests),
    cpuMicros: sum((s) => s.cpuMicros),
    rss: max((s) => s.rss),
    heapUsed: max((s) => s.heapUsed),
    eventLoopDelayMs: {
      p50: max((s) => s.eventLoopDelayMs.p50),
      p99: max((s) => s.eventLoopDelayMs.p99),
      max: max((s) => s.eventLoopDelayMs.max),
    },
  };
}

/** The API processes' and the workers' counters (Vault requests, statements, memory, event-loop delay). */
export const childStats = async (b: Bench) => ({
  api: mergeStats(await Promise.all(b.apis.map((c) => c.ask({ type: 'stats' }, 'stats')))),
  worker: mergeStats(await Promise.all(b.workers.map((c) => c.ask({ type: 'stats' }, 'stats')))),
});

/** Committed and rolled-back transactions in the database so far (pg_stat_database), all clients. */
export const dbTransactions = async (monitor: Pool) =>
  Number(
    (
      await monitor.query(
        `select xact_commit + xact_rollback as n from pg_stat_database where datname = current_database()`,
      )
    ).rows[0].n,
  );

/** Stops everything {@link setUp} started. */
export async function tearDown(b: Bench) {
  const children = [...b.workers, ...b.apis];
  for (const child of children) child.tell({ type: 'shutdown' });
  await Promise.all(children.map((child) => child.exited));
  await b.temporal.connection.close();
  await b.smsc.close();
  await b.http?.close();
  await b.db.end();
  await b.monitor.end();
  b.agent.destroy();
}
