/** The bench's result, as printed to stdout and written to bench/results/, and the figures in it. */
import type { ChildStats } from '../../bench/child';
import type { TaskCounts } from './tasks';

export type Percentiles = { p50: number; p95: number; p99: number };
export interface BenchResult {
  date: string;
  commit: string;
  machine: { cpus: number; cpu?: string; memoryGiB: number };
  messages: number;
  concurrency: number;
  /** API processes (requests spread round-robin) and worker processes per region (`--api-processes`, `--workers`). */
  processes: { api: number; workersPerRegion: number };
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
  /** What one message cost Temporal (workflow and activity tasks, events), from a sample of its histories. */
  temporalPerMessage: TaskCounts;
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
  /** The worker process's (the largest of several), before and after the pipeline run. */
  memoryMiB: { rssBefore: number; rssAfter: number; heapBefore: number; heapAfter: number };
  /** The API process's (the largest of several), before and after the pipeline run. */
  apiMemoryMiB: { rssBefore: number; rssAfter: number };
  /**
   * CPU the children used during the pipeline run (user + system, all threads; summed over several
   * processes of a kind): `cores` = CPU seconds ÷ the run's seconds, `msPerMessage` = CPU ms ÷ N.
   */
  processCpu: Record<'api' | 'worker', { cores: number; msPerMessage: number }>;
  /** How late each child's event loop ran during the pipeline run (perf_hooks, 1 ms resolution; the worst of several processes). */
  eventLoopDelayMs: { api: ChildStats['eventLoopDelayMs']; worker: ChildStats['eventLoopDelayMs'] };
}

export const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};
export const summary = (xs: number[]) => ({ p50: pct(xs, 50), p95: pct(xs, 95), p99: pct(xs, 99) });
export const mb = (b: number) => Math.round(b / 1048576);
