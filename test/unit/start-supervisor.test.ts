import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../helpers/eventually';

/**
 * The supervisor `npm start` runs each process under (the `supervise` function of scripts/start.sh),
 * taken from the script itself and run on stand-in commands: a process that exits is started again;
 * TERM stops the supervisor and the process it runs.
 */
const script = join(__dirname, '..', '..', 'scripts', 'start.sh');
const supervised = (name: string, command: string): ChildProcess =>
  spawn(
    'bash',
    [
      '-c',
      `set -euo pipefail; source <(sed -n '/^supervise() {/,/^}/p' "$0"); supervise ${name} bash -c '${command}'`,
      script,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const lines = (file: string) =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];

describe('npm start: the process supervisor', () => {
  let dir: string;
  const running: ChildProcess[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'supervisor-'));
  });
  afterEach(() => {
    for (const c of running) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('a process that exits is started again, and the exit is logged', async () => {
    const runs = join(dir, 'runs');
    const sup = supervised('flaky', `echo run >> ${runs}; exit 3`);
    running.push(sup);
    let out = '';
    sup.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await eventually(
      'a second run',
      async () => (lines(runs).length >= 2 ? true : undefined),
      30_000,
    );
    expect(out).toContain('[start] flaky exited with status 3; restarting in 1 s');
    sup.kill('SIGTERM');
    await new Promise((r) => sup.once('exit', r));
  });

  test('TERM stops the supervisor and the process it runs, which is not started again', async () => {
    const pids = join(dir, 'pids');
    const sup = supervised('long', `echo $$ >> ${pids}; exec sleep 300`);
    running.push(sup);
    const [pid] = await eventually(
      'the process to start',
      async () => (lines(pids).length ? lines(pids).map(Number) : undefined),
      30_000,
    );
    expect(alive(pid!)).toBe(true);
    sup.kill('SIGTERM');
    const code = await new Promise((r) => sup.once('exit', (c) => r(c)));
    expect(code).toBe(0);
    await eventually(
      'the process to be stopped',
      async () => (alive(pid!) ? undefined : true),
      30_000,
    );
    expect(lines(pids)).toHaveLength(1);
  });
});
