/** Writing a run down: its JSON in bench/results/ and its line in bench/log.md. */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT_DIR } from '../../config/paths';
import type { BenchArgs } from './args';
import type { BenchResult } from './result';

/** Writes the result to bench/results/ and appends its line to bench/log.md (then formatted, so lint stays green). */
export function record(result: BenchResult, commit: string, args: BenchArgs) {
  const { messages: N, concurrency: C, rate: RATE, carrier: carrierKind } = args;
  const BASELINE_N = args.baselineMessages;
  const dir = join(ROOT_DIR, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  // A repeated run of the same commit and arguments on the same day gets -2, -3…: nothing is overwritten.
  const { api, workersPerRegion } = result.processes;
  const scaled = api > 1 || workersPerRegion > 1;
  const name = `${result.date.slice(0, 10)}-${commit}-${N}${RATE ? `-at-${RATE}` : ''}${scaled ? `-${api}api-${workersPerRegion}w` : ''}`;
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
    `| ${result.date.slice(0, 16)} | ${commit} | ${result.machine.cpus} cores, ${result.machine.memoryGiB} GiB | ${N}${result.delivered !== N ? ` (${result.delivered} delivered)` : ''} | ${C}${RATE ? ` @ ${RATE}/s` : ''}${scaled ? ` (${api} API × ${workersPerRegion} workers)` : ''} | ${carrierKind} | ${f(result.throughput.pipeline)} | ${f(result.throughput.baseline)}${BASELINE_N !== N ? ` (${BASELINE_N})` : ''} | ${f(result.throughput.ratio)} | ${[result.acceptLatencyMs.p50, result.acceptLatencyMs.p95, result.acceptLatencyMs.p99].map(f).join(' / ')} | ${[result.baselineStartLatencyMs.p50, result.baselineStartLatencyMs.p95, result.baselineStartLatencyMs.p99].map(f).join(' / ')} | ${[result.endToEndMs.delivered.p50, result.endToEndMs.delivered.p95, result.endToEndMs.delivered.p99].map(f).join(' / ')} | ${f(result.vaultRequestsPerMessage)} | ${f(result.dbStatementsPerMessage)} | ${f(result.dbTransactionsPerMessage)} | ${result.memoryMiB.rssBefore}→${result.memoryMiB.rssAfter} | ${f(result.throughput.ceiling)} | ${f(result.throughput.ratioToCeiling)} | ${result.temporal} |\n`,
  );
  execFileSync(join(ROOT_DIR, 'node_modules', '.bin', 'prettier'), ['--write', md], {
    stdio: 'ignore',
  });
}
