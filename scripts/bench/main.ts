/** The bench run, composed: set up, warm up, the pipeline run, the baseline and the ceiling, the result. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { ROOT_DIR } from '../../config/paths';
import { purgeSweepWorkflowId } from '../../workflows/retention';
import type { BenchArgs } from './args';
import { measured } from './baseline';
import { sendMessages, type Sender } from './load';
import { record } from './record';
import { mb, summary, type BenchResult } from './result';
import { childStats, dbTransactions, setUp, tearDown, type Bench } from './setup';
import { taskCounts, type TaskCounts } from './tasks';

/** The warm-up, then the pipeline run with the counters read around it. */
async function runPipeline(b: Bench, args: BenchArgs) {
  const sender: Sender = {
    agent: b.agent,
    bases: b.bases,
    monitor: b.monitor,
    concurrency: args.concurrency,
    rate: args.rate,
  };
  const warmup =
    args.warmup > 0 ? await sendMessages(sender, b.warm, args.warmup, 'warm-up ') : undefined;
  const before = await childStats(b);
  const txBefore = await dbTransactions(b.monitor);

  const started = performance.now();
  const { accept, phases } = await sendMessages(sender, b.main, args.messages, 'pipeline');
  const seconds = (performance.now() - started) / 1000;
  const { rows: lat } = await b.monitor.query(
    `select id, extract(epoch from submitted_at - created_at) * 1000 as submitted, extract(epoch from completed_at - created_at) * 1000 as delivered, status
       from messages where tenant = $1`,
    [b.main.tenant],
  );
  const txAfter = await dbTransactions(b.monitor);
  const after = await childStats(b);
  return { warmup, accept, phases, seconds, lat, before, after, transactions: txAfter - txBefore };
}

type Pipeline = Awaited<ReturnType<typeof runPipeline>>;
type Baselines = Record<'baseline' | 'ceiling', Awaited<ReturnType<typeof measured>>>;

/** The figures, as printed and recorded. */
function buildResult(
  args: BenchArgs,
  b: Bench,
  run: Pipeline,
  { baseline, ceiling }: Baselines,
  temporalServer: BenchResult['temporalServer'],
  commit: string,
  temporalPerMessage: TaskCounts,
): BenchResult {
  const N = args.messages;
  const { before, after, lat } = run;
  const perMessage = (counter: 'vaultRequests' | 'statements') =>
    (after.api[counter] + after.worker[counter] - (before.api[counter] + before.worker[counter])) /
    N;
  const pipeline = N / run.seconds;
  const cpu = (child: 'api' | 'worker') => {
    const ms = (after[child].cpuMicros - before[child].cpuMicros) / 1000;
    return { cores: ms / 1000 / run.seconds, msPerMessage: ms / N };
  };
  return {
    date: new Date().toISOString(),
    commit,
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
    },
    temporal: b.flavour,
    temporalServer,
    messages: N,
    concurrency: args.concurrency,
    processes: { api: args.apiProcesses, workersPerRegion: args.workers },
    rate: args.rate || undefined,
    carrier: args.carrier,
    delivered: lat.filter((r) => r.status === 'delivered').length,
    throughput: {
      pipeline,
      baseline: baseline.perSecond,
      ratio: pipeline / baseline.perSecond,
      ceiling: ceiling.perSecond,
      ratioToCeiling: pipeline / ceiling.perSecond,
    },
    temporalPerMessage,
    acceptLatencyMs: summary(run.accept),
    warmup: { messages: args.warmup, acceptLatencyMs: run.warmup && summary(run.warmup.accept) },
    acceptPhasesMs: Object.fromEntries([...run.phases].map(([name, xs]) => [name, summary(xs)])),
    baselineStartLatencyMs: summary(baseline.starts),
    ceilingStartLatencyMs: summary(ceiling.starts),
    baselineMessages: args.baselineMessages,
    endToEndMs: {
      submitted: summary(lat.map((r) => Number(r.submitted))),
      delivered: summary(lat.map((r) => Number(r.delivered))),
    },
    vaultRequestsPerMessage: perMessage('vaultRequests'),
    dbTransactionsPerMessage: run.transactions / N,
    dbStatementsPerMessage: perMessage('statements'),
    memoryMiB: {
      rssBefore: mb(before.worker.rss),
      rssAfter: mb(after.worker.rss),
      heapBefore: mb(before.worker.heapUsed),
      heapAfter: mb(after.worker.heapUsed),
    },
    apiMemoryMiB: { rssBefore: mb(before.api.rss), rssAfter: mb(after.api.rss) },
    processCpu: { api: cpu('api'), worker: cpu('worker') },
    eventLoopDelayMs: { api: after.api.eventLoopDelayMs, worker: after.worker.eventLoopDelayMs },
  };
}

export async function main(args: BenchArgs) {
  const b = await setUp(args);
  const run = await runPipeline(b, args);

  // Baseline: same shape, no work, same client, same worker settings, same server.
  const taskQueue = `${b.prefix}baseline`;
  // As many baseline workers as pipeline workers, one in each worker process.
  await Promise.all(b.workers.map((w) => w.ask({ type: 'baseline', taskQueue }, 'baseline-ready')));
  const runs = { temporal: b.temporal, prefix: b.prefix, taskQueue, args };
  const baseline = await measured(runs, 'baselineWorkflow', 'b');
  // The ceiling: one workflow task each, same client, worker, queue and pacing (bench/baseline-workflow.ts).
  const ceiling = await measured(runs, 'ceilingWorkflow', 'c');
  const clusterInfo = await b.temporal.workflowService.getClusterInfo({});

  const undelivered = run.lat.filter((r) => r.status !== 'delivered').length;
  if (undelivered)
    process.stderr.write(
      `\nWARNING: ${undelivered} of ${args.messages} messages did not end delivered\n`,
    );
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
    cwd: ROOT_DIR,
    encoding: 'utf8',
  }).trim();
  const temporalServer = {
    version: clusterInfo.serverVersion ?? '',
    persistence: clusterInfo.persistenceStore ?? '',
  };
  // Every 20th message's history (at least one): what a message costs Temporal.
  const sample = run.lat.filter((_, i) => i % 20 === 0).map((r) => String(r.id));
  const costs = await taskCounts(b.temporal, sample);
  const result = buildResult(args, b, run, { baseline, ceiling }, temporalServer, commit, costs);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (args.out) writeFileSync(args.out, JSON.stringify(result, null, 2));
  if (args.record) record(result, commit, args);

  // The bench's own purge sweeper polls a queue no worker serves after this run: end it.
  await b.temporal.workflow
    .getHandle(purgeSweepWorkflowId('global', b.prefix))
    .terminate('benchmark finished')
    .catch(() => undefined);
  await tearDown(b);
}
