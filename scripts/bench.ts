/**
 * `npm run bench -- --messages N --concurrency C [--carrier smpp|http] [--rate R] [--baseline-messages M] [--warmup W] [--api-processes A] [--workers K] [--no-record] [--out file.json]`
 *
 * Brings up (or reuses) the local stack, runs the load generator and a carrier simulator (no
 * latency, no errors) in this process, the API in one child process (bench/api-process.ts) and a
 * global-region worker in another (bench/worker-process.ts), as `npm start` runs them (with
 * `--api-processes A` and `--workers K`: A API processes, each on a port and with a start relay of its
 * own, the requests spread over them round-robin, and K workers for the region; the baseline and
 * ceiling then run on K workers too, and `processes` in the result says how many), warms them
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
 * Results go to bench/results/<date>-<commit>-<N>[-at-<R>][-<A>api-<K>w][-<k>].json and a line in bench/log.md (not with
 * `--no-record`, which the smoke test in `npm test` uses).
 *
 * The run lives in scripts/bench/: `args` (the flags), `setup` (stack, simulators, tenants, child
 * processes), `load` (the load generator), `baseline` (the baseline and ceiling runs), `result` (the
 * figures), `record` (bench/results/ and bench/log.md) and `main`, which composes them.
 */
import { parseBenchArgs } from './bench/args';
import { main } from './bench/main';

export type { BenchResult } from './bench/result';

main(parseBenchArgs(process.argv)).catch((err: Error) => {
  process.stderr.write(`\nbench failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
