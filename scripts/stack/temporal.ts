import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SEARCH_ATTRIBUTES, type StackConfig } from '../../config/stack';
import { canConnect, isAlive, readPid, run, startDaemon, stopDaemon, waitFor } from './process';
import type { Service } from './service';

/** True once the frontend on TEMPORAL_PORT answers `operator cluster health` (either flavour). */
export async function temporalHealthy(cfg: StackConfig, temporalBin: string): Promise<boolean> {
  if (!(await canConnect(cfg.host, cfg.temporal.port))) return false;
  try {
    run(
      temporalBin,
      ['operator', 'cluster', 'health', '--address', `${cfg.host}:${cfg.temporal.port}`],
      { timeout: 10_000 },
    );
    return true;
  } catch {
    return false;
  }
}

/**
 * The Temporal dev server (`temporal server start-dev`), persisted to SQLite under `.data/temporal/`
 * so workflows survive a restart, with our search attributes and the UI, configured for a closed
 * network, at a lower CPU priority (nice 10) than the processes it shares the machine with.
 */
export function temporalService(cfg: StackConfig, temporalBin: string): Service {
  const t = cfg.temporal;
  const address = `${cfg.host}:${t.port}`;
  const healthy = () => temporalHealthy(cfg, temporalBin);
  return {
    name: 'temporal',
    describe: () => `${address} (namespace ${t.namespace}), UI http://${cfg.host}:${t.uiPort}`,
    healthy,
    running: () => isAlive(readPid(cfg.runDir, 'temporal')),
    async start() {
      mkdirSync(dirname(t.dbFile), { recursive: true });
      const args = [
        'server',
        'start-dev',
        '--ip',
        cfg.host,
        '--port',
        String(t.port),
        '--ui-ip',
        cfg.host,
        '--ui-port',
        String(t.uiPort),
        '--db-filename',
        t.dbFile,
        '--namespace',
        t.namespace,
        '--log-level',
        'warn',
        '--sqlite-pragma',
        'journal_mode=WAL',
        '--sqlite-pragma',
        'synchronous=NORMAL',
        '--dynamic-config-value',
        'frontend.enableServerVersionCheck=false',
        '--ui-disable-news-fetch',
        ...SEARCH_ATTRIBUTES.flatMap((name) => ['--search-attribute', `${name}=Keyword`]),
        ...(t.codecEndpoint ? ['--ui-codec-endpoint', t.codecEndpoint] : []),
      ];
      // Everything shares one machine here: at nice 10 the dev server yields the CPU to the API, the
      // workers and PostgreSQL when they have work, and still takes whatever is idle. On 2 cores this
      // took accept p99 from 77 to 53 ms at 80% of peak and the closed-loop peak from 8.9 to 9.9 msg/s
      // (docs/benchmarks.md, "Tuning").
      startDaemon(
        { name: 'temporal', command: temporalBin, args, nice: 10 },
        cfg.runDir,
        cfg.logDir,
      );
      await waitFor('Temporal', healthy, 90_000, `see ${cfg.logDir}/temporal.log`);
      await waitFor(
        'Temporal search attributes',
        async () => searchAttributesPresent(temporalBin, address, t.namespace),
        30_000,
      );
    },
    stop: () => stopDaemon(cfg.runDir, 'temporal'),
  };
}

/** Those of our search attributes not (yet) registered in `namespace`. */
export function missingSearchAttributes(
  temporalBin: string,
  address: string,
  namespace: string,
): string[] {
  const out = run(
    temporalBin,
    [
      'operator',
      'search-attribute',
      'list',
      '--address',
      address,
      '--namespace',
      namespace,
      '-o',
      'json',
    ],
    {
      timeout: 10_000,
    },
  );
  return SEARCH_ATTRIBUTES.filter((name) => !out.includes(`"${name}"`));
}

/** True when every one of our search attributes is registered in `namespace`. */
export const searchAttributesPresent = (temporalBin: string, address: string, namespace: string) =>
  missingSearchAttributes(temporalBin, address, namespace).length === 0;
