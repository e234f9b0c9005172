import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from './pipeline';
import { stack } from './stack';

/** A PostgreSQL server of a test's own, which the test may stop and start (never the shared stack's). */
export interface PrivatePostgres {
  /** `postgres://sms:sms@127.0.0.1:<port>/sms`, migrated. */
  url: string;
  port: number;
  /** `pg_ctl stop -m fast`: every session is terminated (57P01), as in a restart. */
  stop(): void;
  start(): void;
  /** Stops the server and deletes its data. */
  destroy(): void;
}

const isRoot = () => process.getuid?.() === 0;

/** Debian's newest /usr/lib/postgresql/<version>/bin (as scripts/stack/postgres.ts finds it). */
function pgBin(name: string): string {
  const base = '/usr/lib/postgresql';
  const version = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a))[0];
  if (!version) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
  return join(base, version, 'bin', name);
}

/** Runs a server binary as the `postgres` user when we are root (initdb and postgres refuse root). */
function asPostgres(bin: string, args: string[]): void {
  const [cmd, argv] = isRoot()
    ? ['runuser', ['-u', 'postgres', '--', pgBin(bin), ...args]]
    : [pgBin(bin), args];
  execFileSync(cmd, argv, { stdio: 'pipe', timeout: 120_000 });
}

/**
 * initdb in a temporary folder, a server on a free loopback port, the app's role and database, and
 * every migration applied. For tests that must restart PostgreSQL under running processes.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'sms-private-pg-'));
  if (isRoot()) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  const port = await freePort();
  asPostgres('initdb', [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth-local=trust',
    '--auth-host=scram-sha-256',
    '-E',
    'UTF8',
    '--locale=C.UTF-8',
  ]);
  const start = () =>
    asPostgres('pg_ctl', [
      '-D',
      data,
      '-l',
      join(dir, 'postgres.log'),
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${port} -k ${dir} -h 127.0.0.1 -c max_connections=100 -c fsync=off`,
      'start',
    ]);
  const stop = () => asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
  start();
  const admin = new Client({ host: dir, port, user: 'postgres', database: 'postgres' });
  await admin.connect();
  try {
    await admin.query("create role sms login password 'sms'");
    await admin.query('create database sms owner sms');
  } finally {
    await admin.end();
  }
  const url = `postgres://sms:sms@127.0.0.1:${port}/sms`;
  // In a process of its own: node-pg-migrate is ESM only, which Jest cannot import.
  execFileSync(
    join(stack.rootDir, 'node_modules', '.bin', 'tsx'),
    [join(stack.rootDir, 'scripts', 'migrate.ts')],
    {
      cwd: stack.rootDir,
      env: { ...process.env, DATABASE_URL: url },
      stdio: 'pipe',
      timeout: 120_000,
    },
  );
  return {
    url,
    port,
    stop,
    start,
    destroy() {
      try {
        stop();
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
