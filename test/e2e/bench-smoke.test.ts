import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BenchResult } from '../../scripts/bench';
import { stack } from '../helpers/stack';

const run = promisify(execFile);

/**
 * The benchmark is not a timed test, but it must keep working: a 50-message run through the real
 * stack reports every figure, every message is delivered, and `--no-record` leaves the recorded
 * results alone. No figure is compared with a threshold here (speed belongs in `npm run bench`).
 */
test('npm run bench -- --messages 50 runs end to end and reports every figure', async () => {
  const benchmarks = readFileSync(join(stack.rootDir, 'bench', 'log.md'), 'utf8');
  const results = readdirSync(join(stack.rootDir, 'bench', 'results'));

  const out = join(mkdtempSync(join(tmpdir(), 'bench-smoke-')), 'result.json');
  await run(
    process.execPath,
    [
      '--import',
      'tsx',
      join(stack.rootDir, 'scripts', 'bench.ts'),
      '--messages',
      '50',
      '--concurrency',
      '10',
      '--baseline-messages',
      '20',
      '--warmup',
      '10',
      '--no-record',
      '--out',
      out,
    ],
    { cwd: stack.rootDir, env: process.env, maxBuffer: 16 * 1024 * 1024, timeout: 280_000 },
  );
  const result = JSON.parse(readFileSync(out, 'utf8')) as BenchResult;

  expect(result.messages).toBe(50);
  expect(result.delivered).toBe(50);
  expect(result.baselineMessages).toBe(20);
  expect(result.processes).toEqual({ api: 1, workersPerRegion: 1 });
  // Labelled with the stack's flavour (STACK_TEMPORAL, `dev` unless set); the server names its store:
  // SQLite for the dev server, PostgreSQL for the real one.
  expect(result.temporal).toBe(stack.temporal.flavour);
  expect(result.temporalServer.persistence).toBe(
    stack.temporal.flavour === 'server' ? 'postgres12' : 'sqlite',
  );
  // The warm-up's messages are apart: none of them in the 50 counted above.
  expect(result.warmup.messages).toBe(10);
  expect(result.warmup.acceptLatencyMs!.p99).toBeGreaterThan(0);
  for (const n of [
    result.throughput.pipeline,
    result.throughput.baseline,
    result.throughput.ratio,
    result.throughput.ceiling,
    result.throughput.ratioToCeiling,
    result.ceilingStartLatencyMs.p99,
    result.acceptLatencyMs.p99,
    result.endToEndMs.submitted.p99,
    result.endToEndMs.delivered.p99,
    result.vaultRequestsPerMessage,
    result.dbTransactionsPerMessage,
    result.dbStatementsPerMessage,
    result.baselineStartLatencyMs.p99,
    result.memoryMiB.rssAfter,
    result.apiMemoryMiB.rssAfter,
    result.processCpu.api.msPerMessage,
    result.processCpu.worker.msPerMessage,
    result.processCpu.worker.cores,
    result.acceptPhasesMs.total!.p99,
  ])
    expect(n).toBeGreaterThan(0);
  expect(result.acceptLatencyMs.p50).toBeLessThanOrEqual(result.acceptLatencyMs.p99);

  expect(readFileSync(join(stack.rootDir, 'bench', 'log.md'), 'utf8')).toBe(benchmarks);
  expect(readdirSync(join(stack.rootDir, 'bench', 'results'))).toEqual(results);
}, 300_000);
