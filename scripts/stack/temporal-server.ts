import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import type { StackConfig } from '../../config/stack';
import { canConnect, isAlive, readPid, run, startDaemon, stopDaemon, waitFor } from './process';
import { ensureDatabases } from './postgres';
import type { Service } from './service';
import { missingSearchAttributes, searchAttributesPresent, temporalHealthy } from './temporal';
import type { TemporalServerTools } from './tools';

/** Pid and log names apart from the dev server's (`temporal`): the two flavours share `.data/`. */
const SERVER = 'temporal-server';
const UI = 'temporal-ui';

/** The stack's PostgreSQL as the app's role sees it (the real server persists there too). */
const pgAsApp = (cfg: StackConfig) => ({
  host: cfg.host,
  port: cfg.postgres.port,
  user: 'sms',
  password: 'sms',
});

/**
 * The server's config file, shaped after the module's `config/development-postgres12.yaml`: its two
 * databases in the stack's PostgreSQL, every port derived from TEMPORAL_PORT (frontend on it, the
 * internal services just above, membership 300 below) so a second stack on other ports never
 * collides. JSON, which YAML reads as is.
 */
function serverConfig(cfg: StackConfig, dynamicConfigFile: string) {
  const t = cfg.temporal;
  const pg = pgAsApp(cfg);
  const store = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${pg.host}:${pg.port}`,
      connectProtocol: 'tcp',
      user: pg.user,
      password: pg.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const rpc = (offset: number, extra: object = {}) => ({
    rpc: {
      grpcPort: t.port + offset,
      membershipPort: t.port - 300 + offset,
      bindOnIP: cfg.host,
      ...extra,
    },
  });
  return {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards: 4,
      datastores: {
        default: store(t.server.database, 20),
        visibility: store(t.server.visibilityDatabase, 4),
      },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: cfg.host } },
    services: {
      frontend: rpc(0, { httpPort: t.port + 10 }),
      history: rpc(1),
      matching: rpc(2),
      worker: rpc(6),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `${cfg.host}:${t.port}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: dynamicConfigFile, pollInterval: '10s' },
  };
}

/** What the dev server sets and the app relies on: a search attribute usable as soon as it is registered. */
const DYNAMIC_CONFIG = {
  'system.forceSearchAttributesCacheRefreshOnRead': [{ value: true }],
  'frontend.enableServerVersionCheck': [{ value: false }],
  'limit.maxIDLength': [{ value: 255 }],
};

/** The UI server's config (`<root>/config/development.yaml`): pointed at the server, with the codec endpoint. */
function uiConfig(cfg: StackConfig) {
  const t = cfg.temporal;
  return {
    temporalGrpcAddress: `${cfg.host}:${t.port}`,
    host: cfg.host,
    port: t.uiPort,
    enableUi: true,
    defaultNamespace: t.namespace,
    disableNewsFetch: true,
    notifyOnNewVersion: false,
    ...(t.codecEndpoint ? { codec: { endpoint: t.codecEndpoint } } : {}),
  };
}

/** The two databases, once the stack's PostgreSQL (starting beside it) takes connections. */
async function createDatabases(cfg: StackConfig, log: (s: string) => void) {
  const pg = pgAsApp(cfg);
  await waitFor(
    'PostgreSQL (for the Temporal server)',
    async () => {
      const c = new Client({ ...pg, database: 'postgres', connectionTimeoutMillis: 3000 });
      await c.connect();
      await c.end();
      return true;
    },
    120_000,
  );
  const t = cfg.temporal;
  await ensureDatabases(cfg, [t.server.database, t.server.visibilityDatabase], log);
}

/** `setup-schema -v 0.0` (the version tables, once) then `update-schema` to the tool's embedded newest. */
function updateSchemas(cfg: StackConfig, bins: TemporalServerTools) {
  const pg = pgAsApp(cfg);
  const t = cfg.temporal;
  for (const [db, schema] of [
    [t.server.database, 'postgresql/v12/temporal'],
    [t.server.visibilityDatabase, 'postgresql/v12/visibility'],
  ] as const) {
    const base = [
      '--plugin',
      'postgres12',
      '--ep',
      pg.host,
      '-p',
      String(pg.port),
      '-u',
      pg.user,
      '--pw',
      pg.password,
      '--db',
      db,
    ];
    run(bins.sql, [...base, 'setup-schema', '-v', '0.0'], { stdio: 'pipe' });
    run(bins.sql, [...base, 'update-schema', '--schema-name', schema], { stdio: 'pipe' });
  }
}

/** The namespace (the real server starts with none) and the search attributes, each only when missing. */
async function register(cfg: StackConfig, temporalBin: string, log: (s: string) => void) {
  const t = cfg.temporal;
  const address = `${cfg.host}:${t.port}`;
  const cli = (args: string[]) =>
    run(temporalBin, [...args, '--address', address], { timeout: 30_000 });
  try {
    cli(['operator', 'namespace', 'describe', '--namespace', t.namespace]);
  } catch {
    log(`temporal: registering namespace ${t.namespace}`);
    cli(['operator', 'namespace', 'create', '--namespace', t.namespace, '--retention', '24h']);
  }
  // A new namespace reaches the frontend's cache within seconds: retry until the attributes hold.
  await waitFor(
    'Temporal search attributes',
    async () => {
      const missing = missingSearchAttributes(temporalBin, address, t.namespace);
      if (missing.length === 0) return true;
      cli([
        'operator',
        'search-attribute',
        'create',
        '--namespace',
        t.namespace,
        '--type',
        'Keyword',
        ...missing.flatMap((name) => ['--name', name]),
      ]);
      return searchAttributesPresent(temporalBin, address, t.namespace);
    },
    60_000,
  );
}

/** The Temporal UI server, pointed at the server with the codec endpoint, unless it already runs. */
async function startUi(cfg: StackConfig, bins: TemporalServerTools) {
  const t = cfg.temporal;
  if (isAlive(readPid(cfg.runDir, UI))) return;
  const uiRoot = join(t.server.configDir, 'ui');
  mkdirSync(join(uiRoot, 'config'), { recursive: true });
  writeFileSync(join(uiRoot, 'config', 'development.yaml'), JSON.stringify(uiConfig(cfg), null, 2));
  startDaemon(
    {
      name: UI,
      command: bins.ui,
      args: ['--root', uiRoot, '--env', 'development', 'start'],
      nice: 10,
    },
    cfg.runDir,
    cfg.logDir,
  );
  await waitFor(
    'Temporal UI',
    () => canConnect(cfg.host, t.uiPort),
    30_000,
    `see ${cfg.logDir}/${UI}.log`,
  );
}

/**
 * The real Temporal server (STACK_TEMPORAL=server, `go.temporal.io/server`) on PostgreSQL persistence:
 * its own two databases in the stack's PostgreSQL, their schema set up and updated by the module's SQL
 * tool on every `up` (idempotent), the namespace and our search attributes registered, and the Temporal
 * UI server pointed at it with the codec endpoint. Same ports as the dev server; at nice 10 like it.
 */
export function temporalServerService(
  cfg: StackConfig,
  temporalBin: string,
  bins: TemporalServerTools,
  log: (s: string) => void,
): Service {
  const t = cfg.temporal;
  const address = `${cfg.host}:${t.port}`;
  const dir = t.server.configDir;
  const healthy = () => temporalHealthy(cfg, temporalBin);

  async function configure() {
    await createDatabases(cfg, log);
    updateSchemas(cfg, bins);
    await register(cfg, temporalBin, log);
    await startUi(cfg, bins);
  }

  return {
    name: 'temporal',
    describe: () =>
      `${address} (namespace ${t.namespace}; Temporal server v${t.server.version} on PostgreSQL ` +
      `${t.server.database}, ${t.server.visibilityDatabase}), UI http://${cfg.host}:${t.uiPort}`,
    healthy,
    running: () => isAlive(readPid(cfg.runDir, SERVER)),
    configure,
    async start() {
      await createDatabases(cfg, log);
      updateSchemas(cfg, bins);
      mkdirSync(dir, { recursive: true });
      const configFile = join(dir, 'config.yaml');
      const dynamicConfigFile = join(dir, 'dynamicconfig.yaml');
      writeFileSync(dynamicConfigFile, JSON.stringify(DYNAMIC_CONFIG, null, 2));
      writeFileSync(configFile, JSON.stringify(serverConfig(cfg, dynamicConfigFile), null, 2));
      startDaemon(
        {
          name: SERVER,
          command: bins.server,
          args: ['--config-file', configFile, '--allow-no-auth', 'start'],
          nice: 10,
        },
        cfg.runDir,
        cfg.logDir,
      );
      await waitFor('Temporal server', healthy, 120_000, `see ${cfg.logDir}/${SERVER}.log`);
      await register(cfg, temporalBin, log);
      await startUi(cfg, bins);
    },
    async stop() {
      await stopDaemon(cfg.runDir, UI);
      return stopDaemon(cfg.runDir, SERVER);
    },
  };
}
