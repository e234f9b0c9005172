/**
 * The bench's child processes (bench/api-process.ts, bench/worker-process.ts) and how the bench talks
 * to them over IPC: each answers `stats` with its own counters, and says when it is ready.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ROOT_DIR } from '../config/paths';

/** A child's counters: statements sent to PostgreSQL, Vault requests, CPU time, memory, event-loop delay. */
export interface ChildStats {
  type: 'stats';
  statements: number;
  vaultRequests: number;
  rss: number;
  heapUsed: number;
  /** CPU time the process has used so far, user + system, all its threads (µs, `process.cpuUsage`). */
  cpuMicros: number;
  /** How late the event loop ran timers since the previous `stats` (ms): what every request waited on top of its own work. */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
}

// Sampled every 1 ms from the child's start; each `stats` answer reports and resets it.
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();

/** This process's counters, for a `stats` answer. */
export function statsOf(statements: () => number, vault: { requests: number }): ChildStats {
  const mem = process.memoryUsage();
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  const eventLoopDelayMs = {
    p50: ms(loopDelay.percentile(50)),
    p99: ms(loopDelay.percentile(99)),
    max: ms(loopDelay.max),
  };
  loopDelay.reset();
  const cpu = process.cpuUsage();
  return {
    type: 'stats',
    statements: statements(),
    vaultRequests: vault.requests,
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    cpuMicros: cpu.user + cpu.system,
    eventLoopDelayMs,
  };
}

/** The child side: exits when the bench goes away (Ctrl-C, a crash), and reports a failure. */
export function childMain(name: string, main: () => Promise<void>): void {
  process.on('disconnect', () => process.exit(0));
  main().catch((err: Error) => {
    process.stderr.write(`${name} failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  });
}

function cpuProfileFlags(dir: string | undefined): string[] {
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

/** The bench's side of one child: `next(type)` waits for its next message of that type. */
export class BenchChild<To, From extends { type: string }> {
  private readonly child: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(file: string, env: NodeJS.ProcessEnv) {
    this.child = fork(join(ROOT_DIR, 'bench', file), [], {
      // BENCH_CPU_PROF=<dir>: each child (and its worker threads) writes a V8 CPU profile there on exit.
      execArgv: ['--import', 'tsx', ...cpuProfileFlags(process.env.BENCH_CPU_PROF)],
      env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', resolve));
  }

  next<T extends From['type']>(type: T): Promise<Extract<From, { type: T }>> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: From) => {
        if (m.type !== type) return;
        this.child.off('message', onMessage);
        resolve(m as Extract<From, { type: T }>);
      };
      this.child.on('message', onMessage);
      void this.exited.then((code) =>
        reject(new Error(`the bench's ${type} wait: child exited (${code})`)),
      );
    });
  }

  tell(m: To): void {
    this.child.send(m as object);
  }

  /** Sends `ask` and waits for the answer of type `type`. */
  async ask<T extends From['type']>(m: To, type: T): Promise<Extract<From, { type: T }>> {
    const answer = this.next(type);
    this.tell(m);
    return answer;
  }
}
