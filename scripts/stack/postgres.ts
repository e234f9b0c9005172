import { existsSync, mkdirSync, readdirSync, readFileSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import type { StackConfig } from '../../config/stack';
import { canConnect, isAlive, run, waitFor, which } from './process';
import type { Service } from './service';

const isRoot = () => process.getuid?.() === 0;

/** The folder holding initdb/pg_ctl: Debian's /usr/lib/postgresql/<newest>/bin, else PATH. Installs Debian's `postgresql` when missing and root. */
function findPgBin(log: (s: string) => void): string {
  const fromDebian = () => {
    const base = '/usr/lib/postgresql';
    if (!existsSync(base)) return undefined;
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    return versions[0] ? join(base, versions[0], 'bin') : undefined;
  };
  const onPath = () => {
    const initdb = which('initdb');
    return initdb ? initdb.replace(/\/initdb$/, '') : undefined;
  };
  let bin = fromDebian() ?? onPath();
  if (!bin && isRoot()) {
    log("installing Debian's postgresql (apt-get)");
    run('apt-get', ['update', '-qq'], { stdio: 'pipe', timeout: 300_000 });
    run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'postgresql'], {
      stdio: 'pipe',
      timeout: 600_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    bin = fromDebian();
  }
  if (!bin)
    throw new Error('PostgreSQL server binaries not found; install postgresql or set DATABASE_URL');
  return bin;
}

/** Runs a PostgreSQL server binary as the `postgres` user when we are root (initdb refuses root). */
function asPostgres(bin: string, args: string[]) {
  return isRoot()
    ? run('runuser', ['-u', 'postgres', '--', bin, ...args], { stdio: 'pipe' })
    : run(bin, args, { stdio: 'pipe' });
}

/**
 * Creates those of `names` that do not exist yet, owned by the app's role, as PostgreSQL's superuser
 * over the stack's socket (`log` names each one created). The app's own database, and the real
 * Temporal server's two (scripts/stack/temporal-server.ts).
 */
export async function ensureDatabases(
  cfg: StackConfig,
  names: readonly string[],
  log: (s: string) => void,
): Promise<void> {
  const pg = cfg.postgres;
  const c = new Client({
    host: pg.socketDir,
    port: pg.port,
    user: 'postgres',
    database: 'postgres',
  });
  await c.connect();
  try {
    for (const name of names) {
      const found = await c.query('select 1 from pg_database where datname = $1', [name]);
      if (found.rowCount !== 0) continue;
      log(`postgres: creating database ${name}`);
      await c.query(`create database ${name} owner sms`);
    }
  } finally {
    await c.end();
  }
}

/**
 * A local PostgreSQL server under `.data/postgres/`, listening on loopback only, with the app's role and
 * database. Skipped entirely when DATABASE_URL is set (the app then uses that server).
 */
export function postgresService(cfg: StackConfig, log: (s: string) => void): Service {
  const pg = cfg.postgres;
  let pgBin: string | undefined;
  const bin = (name: string) => join((pgBin ??= findPgBin(log)), name);
  const admin = () =>
    new Client({ host: pg.socketDir, port: pg.port, user: 'postgres', database: 'postgres' });
  const pidFile = join(pg.dataDir, 'postmaster.pid');
  // The server writes its own log, so the folder must belong to the user it runs as.
  const logDir = join(cfg.logDir, 'postgres');
  // The first line of postmaster.pid is the server's PID; a file left by a killed server (a machine
  // that stopped without `stack down`) names a dead process, and pg_ctl start replaces it.
  const serverAlive = () =>
    existsSync(pidFile) && isAlive(Number(readFileSync(pidFile, 'utf8').split('\n')[0]));

  async function healthy() {
    if (!(await canConnect(cfg.host, pg.port))) return false;
    const c = new Client({
      host: cfg.host,
      port: pg.port,
      user: 'sms',
      password: 'sms',
      database: 'sms',
      connectionTimeoutMillis: 3000,
    });
    try {
      await c.connect();
      await c.query('select 1');
      return true;
    } catch {
      return false;
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  async function configure() {
    const c = admin();
    await c.connect();
    try {
      const role = await c.query("select 1 from pg_roles where rolname = 'sms'");
      if (role.rowCount === 0) await c.query("create role sms login password 'sms'");
    } finally {
      await c.end();
    }
    await ensureDatabases(cfg, ['sms'], log);
  }

  const ownedDir = (dir: string) => {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (isRoot()) {
      const uid = Number(run('id', ['-u', 'postgres']).trim());
      const gid = Number(run('id', ['-g', 'postgres']).trim());
      chownSync(dir, uid, gid);
    }
  };

  return {
    name: 'postgres',
    describe: () => `postgres://sms@${cfg.host}:${pg.port}/sms (data ${pg.dataDir})`,
    healthy,
    running: serverAlive,
    async start() {
      if (!existsSync(join(pg.dataDir, 'PG_VERSION'))) {
        if (isRoot()) {
          try {
            run('id', ['postgres']);
          } catch {
            findPgBin(log); // installing Debian's package creates the postgres user
          }
        }
        ownedDir(pg.dataDir);
        log('initdb (as the postgres user)');
        asPostgres(bin('initdb'), [
          '-D',
          pg.dataDir,
          '-U',
          'postgres',
          '--auth-local=trust',
          '--auth-host=scram-sha-256',
          '-E',
          'UTF8',
          '--locale=C.UTF-8',
        ]);
      }
      ownedDir(pg.socketDir);
      ownedDir(logDir);
      asPostgres(bin('pg_ctl'), [
        '-D',
        pg.dataDir,
        '-l',
        join(logDir, 'postgres.log'),
        '-w',
        '-t',
        '60',
        '-o',
        `-p ${pg.port} -k ${pg.socketDir} -h ${cfg.host} -c max_connections=200`,
        'start',
      ]);
      await configure();
      await waitFor('PostgreSQL', healthy, 30_000, `see ${logDir}/postgres.log`);
    },
    configure,
    async stop() {
      if (!serverAlive()) return false;
      asPostgres(bin('pg_ctl'), ['-D', pg.dataDir, '-m', 'fast', '-w', 'stop']);
      return true;
    },
  };
}
