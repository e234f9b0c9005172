/**
 * `npm run bench -- --messages N --concurrency C [--carrier smpp|http] [--rate R] [--baseline-messages M] [--warmup W] [--no-record] [--out file.json]`
 *
 * Brings up (or reuses) the local stack, runs the load generator and a carrier simulator (no
 * latency, no errors) in this process, the API in one child process (bench/api-process.ts) and a
 * global-region worker in another (bench/worker-process.ts), as `npm start` runs them, warms them
 * up with W messages (default 200, left out of the figures), sends N messages through the API with C
 * in flight (closed loop; with `--rate R`, open loop: one request every 1/R s, still at most C in
 * flight — run at 80% of a closed-loop run's throughput to measure accept latency below saturation),
 * and reports throughput, API accept latency, end-to-end latency, Vault requests and
 * database transactions per message, and memory. Then runs the baseline — a no-op workflow of the
 * same shape on the same client, worker settings and server, started at the same pacing (M of
 * them, default N, after min(W, M) of its own to warm up) — and reports pipeline ÷ baseline and the baseline's own start latency, the
 * floor under the API's accept latency. Last the ceiling: a workflow of one workflow task and nothing else
 * (`ceilingWorkflow`), as many, started and warmed up the same way, which is what Temporal itself allows
 * here; `throughput.ratioToCeiling` is pipeline ÷ ceiling. `temporal` says which Temporal ran them (the
 * stack's `STACK_TEMPORAL`, `dev` unless set), with the version and persistence the server reports.
 * Results go to bench/results/<date>-<commit>-<N>[-at-<R>][-<k>].json and a line in bench/log.md (not with
 * `--no-record`, which the smoke test in `npm test` uses).
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parseServerTiming } from '../api/plugins/server-timing';
import { startHttpCarrierSimulator } from '../carriers/simulators/http/carrier';
import { startSmscSimulator } from '../carriers/simulators/smpp/smsc';
import { createDbPool } from '../clients/db';
import { benchSenderNumbers } from './seed-numbers';
import { createDataConverter, createTemporalClient } from '../clients/temporal';
import { vaultClientFor } from '../clients/vault';
import { loadConfig, type CarrierConfig } from '../config/config';
import { loadStackConfig } from '../config/stack';
import { createLogger } from '../config/logger';
import { ROOT_DIR } from '../config/paths';
import type { FromApi, ToApi } from '../bench/api-process';
import { BenchChild, type ChildStats } from '../bench/child';
import { MONITOR_APP } from '../bench/statement-counter';
import type { FromWorker, ToWorker } from '../bench/worker-process';
import { createApiKey } from './keys';
import { purgeSweepWorkflowId } from '../workflows/retention';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const N = Number(arg('messages', '1000'));
const C = Number(arg('concurrency', '50'));
const carrierKind = arg('carrier', 'smpp');
const RATE = Number(arg('rate', '0'));
/** Baseline size; default N. A 20,000 run may take a smaller baseline (it measures the same shape). */
const BASELINE_N = Number(arg('baseline-messages', String(N)));
/**
 * Messages sent first, at the same pacing, and left out of every figure (reported apart as `warmup`):
 * the API and worker processes are new for each run, and their first seconds (JIT, caches, connections)
 * are a cold start, not the steady state the targets are about. The baseline gets as many first.
 */
const WARMUP = Number(arg('warmup', '200'));
const RECORD = !process.argv.includes('--no-record');
/** Also write the JSON result to this file (stdout may carry the Temporal core's own warnings). */
const OUT = arg('out', '');

type Percentiles = { p50: number; p95: number; p99: number };
export interface BenchResult {
  date: string;
  commit: string;
  machine: { cpus: number; cpu?: string; memoryGiB: number };
  messages: number;
  concurrency: number;
  rate?: number;
  carrier: string;
  delivered: number;
  /** Which Temporal the stack runs (`STACK_TEMPORAL`, default `dev`: the CLI's dev server). */
  temporal: 'dev' | 'server';
  /** What the Temporal frontend reports of itself (GetClusterInfo): evidence for `temporal`. */
  temporalServer: { version: string; persistence: string };
  /**
   * Workflows (or messages) per second. `ratio` = pipeline ÷ baseline (same shape, no work);
   * `ceiling` = one-workflow-task no-ops started the same way; `ratioToCeiling` = pipeline ÷ ceiling.
   */
  throughput: {
    pipeline: number;
    baseline: number;
    ratio: number;
    ceiling: number;
    ratioToCeiling: number;
  };
  acceptLatencyMs: Percentiles;
  /** The accept's phases as the API's Server-Timing header gave them (auth, policy, admit, total), and `outside` (round trip − total). */
  acceptPhasesMs: Record<string, Percentiles>;
  /** The warm-up's messages (left out of every other figure): how many, and their accept latency. */
  warmup: { messages: number; acceptLatencyMs?: Percentiles };
  /** The baseline's StartWorkflowExecution latency at the same pacing: Temporal's own floor under accept. */
  baselineStartLatencyMs: Percentiles;
  /** The ceiling's start latency at the same pacing. */
  ceilingStartLatencyMs: Percentiles;
  baselineMessages: number;
  endToEndMs: { submitted: Percentiles; delivered: Percentiles };
  vaultRequestsPerMessage: number;
  /** Committed and rolled-back transactions in the database (pg_stat_database), all clients. */
  dbTransactionsPerMessage: number;
  /** Statements the API and the worker sent (BEGIN/COMMIT included), the bench's own reads not. */
  dbStatementsPerMessage: number;
  /** The worker process's, before and after the pipeline run. */
  memoryMiB: { rssBefore: number; rssAfter: number; heapBefore: number; heapAfter: number };
  /** The API process's, before and after the pipeline run. */
  apiMemoryMiB: { rssBefore: number; rssAfter: number };
  /** How late each child's event loop ran during the pipeline run (perf_hooks, 1 ms resolution). */
  eventLoopDelayMs: { api: ChildStats['eventLoopDelayMs']; worker: ChildStats['eventLoopDelayMs'] };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};
const summary = (xs: number[]) => ({ p50: pct(xs, 50), p95: pct(xs, 95), p99: pct(xs, 99) });
const mb = (b: number) => Math.round(b / 1048576);

const lastShown = new Map<string, number>();
/** A progress bar on stderr, redrawn only when it moves (every 1%). */
function progress(label: string, done: number, total: number) {
  const width = 30;
  const percent = Math.floor((done / total) * 100);
  if (lastShown.get(label) === percent && done !== total) return;
  lastShown.set(label, percent);
  const filled = Math.round((done / total) * width);
  process.stderr.write(
    `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`,
  );
  if (done === total) process.stderr.write('\n');
}

/** Runs `fn(i)` for i in 0..n-1 with at most `c` in flight; with `rate` > 0, starts one every 1/rate s at most. */
async function pool(n: number, c: number, fn: (i: number) => Promise<void>, rate = 0) {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(c, n) }, async () => {
      while (next < n) {
        const i = next++;
        if (rate > 0) {
          const due = t0 + (i * 1000) / rate - performance.now();
          if (due > 0) await new Promise((r) => setTimeout(r, due));
        }
        await fn(i);
      }
    }),
  );
}

/**
 * One `POST` with a JSON body over node:http (a lighter client than `fetch`, so less of the measured
 * round trip is the bench's own work); `headersAt` is when the answer's headers arrived.
 */
function post(
  agent: Agent,
  url: string,
  secret: string,
  body: unknown,
): Promise<{ status: number; serverTiming?: string; headersAt: number; body: string }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${secret}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        const headersAt = performance.now();
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            serverTiming: res.headers['server-timing'] as string | undefined,
            headersAt,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function main() {
  execFileSync(
    join(ROOT_DIR, 'node_modules', '.bin', 'tsx'),
    [join(ROOT_DIR, 'scripts', 'stack.ts'), 'up'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  // Logs go to stderr, so stdout carries only the JSON result.
  const log = createLogger('bench', 'warn', pino.destination(2));

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
  /** A tenant of its own for a phase of the run, with a sender key and a pool of 10 numbers. */
  const newTenant = async (label: string) => {
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
  };
  const warm = await newTenant('-warmup');
  const { tenant, secret } = await newTenant('');

  // The API and the workers run in processes of their own (bench/api-process.ts,
  // bench/worker-process.ts), as with `npm start`.
  const api = new BenchChild<ToApi, FromApi>('api-process.ts', env);
  const { base } = await api.next('ready');
  const worker = new BenchChild<ToWorker, FromWorker>('worker-process.ts', {
    ...env,
    API_PUBLIC_URL: base,
  });
  await worker.next('ready');
  const stats = async () => ({
    api: await api.ask({ type: 'stats' }, 'stats'),
    worker: await worker.ask({ type: 'stats' }, 'stats'),
  });
  // The baseline's client: the same settings and codec as the API's.
  const vault = vaultClientFor(config, 'api', { log });
  const { dataConverter } = createDataConverter(config, vault);
  const temporal = await createTemporalClient(config, vault, dataConverter);
  // Keep-alive connections, at most C: the API sees what a client with a connection pool sends.
  const agent = new Agent({ keepAlive: true, maxSockets: C });
  /** Sends `count` messages as `t` at the run's pacing and waits until all are final; the accept figures. */
  const sendAll = async (t: { tenant: string; secret: string }, count: number, label: string) => {
    const accept: number[] = [];
    const phases = new Map<string, number[]>();
    let accepted = 0;
    await pool(
      count,
      C,
      async (i) => {
        const t0 = performance.now();
        const res = await post(agent, `${base}/v1/messages`, t.secret, {
          to: `+4474009${String(i % 100000).padStart(5, '0')}`,
          body: `Your code is ${100000 + (i % 900000)}`,
          purpose: 'otp',
          // A closed loop builds a backlog longer than an OTP's default validity (5 min): without this
          // the tail would end `expired`, never submitted, and count as done.
          validitySeconds: 86_400,
        });
        const took = res.headersAt - t0;
        accept.push(took);
        const timing = parseServerTiming(res.serverTiming);
        // `outside`: the round trip minus the server's `total` (connection, parsing, serializing, and
        // waiting for either event loop or a CPU).
        if (timing.total !== undefined) timing.outside = took - timing.total;
        for (const [name, ms] of Object.entries(timing))
          phases.set(name, [...(phases.get(name) ?? []), ms]);
        if (res.status !== 202) throw new Error(`POST answered ${res.status}: ${res.body}`);
        progress(`${label} accepted `, ++accepted, count);
      },
      RATE,
    );
    for (;;) {
      const { rows } = await monitor.query(
        `select count(*)::int as n from messages where tenant = $1 and completed_at is not null`,
        [t.tenant],
      );
      progress(`${label} completed`, rows[0].n, count);
      if (rows[0].n >= count) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    return { accept, phases };
  };

  const warmup = WARMUP > 0 ? await sendAll(warm, WARMUP, 'warm-up ') : undefined;
  const before = await stats();
  const txBefore = Number(
    (
      await monitor.query(
        `select xact_commit + xact_rollback as n from pg_stat_database where datname = current_database()`,
      )
    ).rows[0].n,
  );
  const vaultBefore = before.api.vaultRequests + before.worker.vaultRequests;
  const statementsBefore = before.api.statements + before.worker.statements;

  // Pipeline run.
  const started = performance.now();
  const { accept, phases } = await sendAll({ tenant, secret }, N, 'pipeline');
  const pipelineSeconds = (performance.now() - started) / 1000;
  const { rows: lat } = await monitor.query(
    `select extract(epoch from submitted_at - created_at) * 1000 as submitted, extract(epoch from completed_at - created_at) * 1000 as delivered, status
       from messages where tenant = $1`,
    [tenant],
  );
  const txAfter = Number(
    (
      await monitor.query(
        `select xact_commit + xact_rollback as n from pg_stat_database where datname = current_database()`,
      )
    ).rows[0].n,
  );
  const after = await stats();
  const vaultAfter = after.api.vaultRequests + after.worker.vaultRequests;
  const statementsAfter = after.api.statements + after.worker.statements;

  // Baseline: same shape, no work, same client, same worker settings, same server.
  const baselineQueue = `${prefix}baseline`;
  await worker.ask({ type: 'baseline', taskQueue: baselineQueue }, 'baseline-ready');
  /** Starts `count` workflows of `type` (ids `<prefix><tag>-<i>`) on the baseline's queue at the run's pacing and waits for them; their start latencies. */
  const baselineRun = async (
    count: number,
    tag: string,
    label: string,
    type: 'baselineWorkflow' | 'ceilingWorkflow',
  ) => {
    const starts: number[] = [];
    await pool(
      count,
      C,
      async (i) => {
        const id = `${prefix}${tag}-${i}`;
        const t0 = performance.now();
        await temporal.workflow.start(type, {
          taskQueue: baselineQueue,
          workflowId: id,
          args: [{ id, to: '+440000000000', body: 'x' }],
        });
        starts.push(performance.now() - t0);
      },
      RATE,
    );
    let done = 0;
    await pool(count, C, async (i) => {
      await temporal.workflow.getHandle(`${prefix}${tag}-${i}`).result();
      progress(label, ++done, count);
    });
    return starts;
  };
  /** A warm-up of min(W, M), then M timed: workflows per second and start latencies. */
  const measured = async (type: 'baselineWorkflow' | 'ceilingWorkflow', tag: string) => {
    const label = type === 'baselineWorkflow' ? 'baseline' : 'ceiling';
    if (WARMUP > 0)
      await baselineRun(Math.min(WARMUP, BASELINE_N), `${tag}w`, `${label} warm-up `, type);
    const t0 = performance.now();
    const starts = await baselineRun(BASELINE_N, tag, `${label} `, type);
    return { perSecond: BASELINE_N / ((performance.now() - t0) / 1000), starts };
  };
  const baseline = await measured('baselineWorkflow', 'b');
  // The ceiling: one workflow task each, same client, worker, queue and pacing (bench/baseline-workflow.ts).
  const ceiling = await measured('ceilingWorkflow', 'c');
  const clusterInfo = await temporal.workflowService.getClusterInfo({});

  const undelivered = lat.filter((r) => r.status !== 'delivered').length;
  if (undelivered)
    process.stderr.write(`\nWARNING: ${undelivered} of ${N} messages did not end delivered\n`);
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
    cwd: ROOT_DIR,
    encoding: 'utf8',
  }).trim();
  const result: BenchResult = {
    date: new Date().toISOString(),
    commit,
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
    },
    temporal: flavour,
    temporalServer: {
      version: clusterInfo.serverVersion ?? '',
      persistence: clusterInfo.persistenceStore ?? '',
    },
    messages: N,
    concurrency: C,
    rate: RATE || undefined,
    carrier: carrierKind,
    delivered: lat.filter((r) => r.status === 'delivered').length,
    throughput: {
      pipeline: N / pipelineSeconds,
      baseline: baseline.perSecond,
      ratio: N / pipelineSeconds / baseline.perSecond,
      ceiling: ceiling.perSecond,
      ratioToCeiling: N / pipelineSeconds / ceiling.perSecond,
    },
    acceptLatencyMs: summary(accept),
    warmup: { messages: WARMUP, acceptLatencyMs: warmup && summary(warmup.accept) },
    acceptPhasesMs: Object.fromEntries([...phases].map(([name, xs]) => [name, summary(xs)])),
    baselineStartLatencyMs: summary(baseline.starts),
    ceilingStartLatencyMs: summary(ceiling.starts),
    baselineMessages: BASELINE_N,
    endToEndMs: {
      submitted: summary(lat.map((r) => Number(r.submitted))),
      delivered: summary(lat.map((r) => Number(r.delivered))),
    },
    vaultRequestsPerMessage: (vaultAfter - vaultBefore) / N,
    dbTransactionsPerMessage: (txAfter - txBefore) / N,
    dbStatementsPerMessage: (statementsAfter - statementsBefore) / N,
    memoryMiB: {
      rssBefore: mb(before.worker.rss),
      rssAfter: mb(after.worker.rss),
      heapBefore: mb(before.worker.heapUsed),
      heapAfter: mb(after.worker.heapUsed),
    },
    apiMemoryMiB: { rssBefore: mb(before.api.rss), rssAfter: mb(after.api.rss) },
    eventLoopDelayMs: { api: after.api.eventLoopDelayMs, worker: after.worker.eventLoopDelayMs },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (OUT) writeFileSync(OUT, JSON.stringify(result, null, 2));
  if (RECORD) record(result, commit);

  // The bench's own purge sweeper polls a queue no worker serves after this run: end it.
  await temporal.workflow
    .getHandle(purgeSweepWorkflowId('global', prefix))
    .terminate('benchmark finished')
    .catch(() => undefined);
  worker.tell({ type: 'shutdown' });
  api.tell({ type: 'shutdown' });
  await Promise.all([worker.exited, api.exited]);
  await temporal.connection.close();
  await smsc.close();
  await http?.close();
  await db.end();
  await monitor.end();
  agent.destroy();
}

/** Writes the result to bench/results/ and appends its line to bench/log.md (then formatted, so lint stays green). */
function record(result: BenchResult, commit: string) {
  const dir = join(ROOT_DIR, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  // A repeated run of the same commit and arguments on the same day gets -2, -3…: nothing is overwritten.
  const name = `${result.date.slice(0, 10)}-${commit}-${N}${RATE ? `-at-${RATE}` : ''}`;
  let file = join(dir, `${name}.json`);
  for (let k = 2; existsSync(file); k++) file = join(dir, `${name}-${k}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2));
  const md = join(ROOT_DIR, 'bench', 'log.md');
  if (!existsSync(md)) {
    writeFileSync(
      md,
      '# Benchmarks\n\n`npm run bench -- --messages N --concurrency C`; one line per run, newest last. Everything on one machine.\n\n| date | commit | machine | N | C | carrier | msg/s | baseline msg/s | ratio | accept p50/p95/p99 ms | baseline start p50/p95/p99 ms | e2e delivered p50/p95/p99 ms | Vault req/msg | DB statements/msg | DB tx/msg | RSS MiB before→after | ceiling msg/s | ÷ ceiling | temporal |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n',
    );
  }
  const f = (n: number) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0) : '–');
  appendFileSync(
    md,
    `| ${result.date.slice(0, 16)} | ${commit} | ${result.machine.cpus} cores, ${result.machine.memoryGiB} GiB | ${N}${result.delivered !== N ? ` (${result.delivered} delivered)` : ''} | ${C}${RATE ? ` @ ${RATE}/s` : ''} | ${carrierKind} | ${f(result.throughput.pipeline)} | ${f(result.throughput.baseline)}${BASELINE_N !== N ? ` (${BASELINE_N})` : ''} | ${f(result.throughput.ratio)} | ${[result.acceptLatencyMs.p50, result.acceptLatencyMs.p95, result.acceptLatencyMs.p99].map(f).join(' / ')} | ${[result.baselineStartLatencyMs.p50, result.baselineStartLatencyMs.p95, result.baselineStartLatencyMs.p99].map(f).join(' / ')} | ${[result.endToEndMs.delivered.p50, result.endToEndMs.delivered.p95, result.endToEndMs.delivered.p99].map(f).join(' / ')} | ${f(result.vaultRequestsPerMessage)} | ${f(result.dbStatementsPerMessage)} | ${f(result.dbTransactionsPerMessage)} | ${result.memoryMiB.rssBefore}→${result.memoryMiB.rssAfter} | ${f(result.throughput.ceiling)} | ${f(result.throughput.ratioToCeiling)} | ${result.temporal} |\n`,
  );
  execFileSync(join(ROOT_DIR, 'node_modules', '.bin', 'prettier'), ['--write', md], {
    stdio: 'ignore',
  });
}

main().catch((err: Error) => {
  process.stderr.write(`\nbench failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
