import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';

/** A long-running service process the stack starts detached, tracked by a pid file. */
export interface Daemon {
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** CPU niceness (`nice -n`), for a process that should yield the CPU to latency-sensitive ones. */
  nice?: number;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function readPid(runDir: string, name: string): number | undefined {
  const file = join(runDir, `${name}.pid`);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Starts `d` in its own process group, stdout and stderr appended to `<logDir>/<name>.log`; returns its pid. */
export function startDaemon(d: Daemon, runDir: string, logDir: string): number {
  mkdirSync(runDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const out = openSync(join(logDir, `${d.name}.log`), 'a');
  // `nice -n N cmd` lowers the CPU priority of the process and of every thread it starts.
  const [command, args] =
    d.nice === undefined
      ? [d.command, d.args]
      : ['nice', ['-n', String(d.nice), d.command, ...d.args]];
  const child = spawn(command, args, {
    cwd: d.cwd,
    env: d.env ?? process.env,
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  if (!child.pid) throw new Error(`${d.name}: failed to start ${d.command}`);
  child.unref();
  writeFileSync(join(runDir, `${d.name}.pid`), String(child.pid));
  return child.pid;
}

/** Stops the daemon named `name` (SIGTERM to its process group, SIGKILL after `graceMs`). Returns whether it was running. */
export async function stopDaemon(runDir: string, name: string, graceMs = 15_000): Promise<boolean> {
  const pid = readPid(runDir, name);
  const file = join(runDir, `${name}.pid`);
  if (!isAlive(pid)) {
    rmSync(file, { force: true });
    return false;
  }
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid!, sig);
    } catch {
      try {
        process.kill(pid!, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) signal('SIGKILL');
  rmSync(file, { force: true });
  return true;
}

/** Resolves true once something accepts TCP connections on host:port. */
export function canConnect(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Polls `check` until it returns true or `timeoutMs` passes; then throws naming `what` and where its log is. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  hint = '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline)
      throw new Error(
        `${what} did not become ready within ${timeoutMs / 1000}s${hint ? ` (${hint})` : ''}`,
      );
    await sleep(250);
  }
}

/** Runs a command to completion; throws with its output when it fails. */
export function run(command: string, args: string[], options: SpawnSyncOptions = {}): string {
  const r = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (r.error) throw new Error(`${command} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${r.status}:\n${String(r.stdout ?? '')}${String(r.stderr ?? '')}`.trim(),
    );
  }
  return String(r.stdout ?? '');
}

/** The absolute path of `name` on PATH, if any. */
export function which(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = r.stdout.trim();
  return r.status === 0 && path.startsWith('/') ? path : undefined;
}
