/** The bench's flags (see scripts/bench.ts). */

export interface BenchArgs {
  /** `--messages N`: messages in the pipeline run; default 1000. */
  messages: number;
  /** `--concurrency C`: requests (or starts) in flight at most; default 50. */
  concurrency: number;
  /** `--carrier smpp|http`: which simulator the worker sends to; default smpp. */
  carrier: string;
  /** `--rate R`: open loop, one request every 1/R s; 0 (the default) is a closed loop. */
  rate: number;
  /** Baseline size; default N. A 20,000 run may take a smaller baseline (it measures the same shape). */
  baselineMessages: number;
  /**
   * Messages sent first, at the same pacing, and left out of every figure (reported apart as `warmup`):
   * the API and worker processes are new for each run, and their first seconds (JIT, caches, connections)
   * are a cold start, not the steady state the targets are about. The baseline gets as many first.
   */
  warmup: number;
  /** False with `--no-record`: no file in bench/results/, no line in bench/log.md. */
  record: boolean;
  /** Also write the JSON result to this file (stdout may carry the Temporal core's own warnings). */
  out: string;
  /** `--api-processes N`: API processes on ports of their own, the requests spread round-robin; default 1. */
  apiProcesses: number;
  /** `--workers N`: worker processes per region (the bench's messages all go to the global region); default 1. */
  workers: number;
}

/** Reads the flags from a whole `process.argv`. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const arg = (name: string, fallback: string) => {
    const i = argv.indexOf(`--${name}`);
    return i > 0 ? argv[i + 1]! : fallback;
  };
  const processes = (name: string) => {
    const n = Number(arg(name, '1'));
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number ≥ 1`);
    return n;
  };
  const messages = Number(arg('messages', '1000'));
  return {
    messages,
    concurrency: Number(arg('concurrency', '50')),
    carrier: arg('carrier', 'smpp'),
    rate: Number(arg('rate', '0')),
    baselineMessages: Number(arg('baseline-messages', String(messages))),
    warmup: Number(arg('warmup', '200')),
    record: !argv.includes('--no-record'),
    out: arg('out', ''),
    apiProcesses: processes('api-processes'),
    workers: processes('workers'),
  };
}
