import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { observeQueries } from '../../clients/db';
import { createMetrics, METRIC_NAMES, queueGauges, type Metrics } from '../../clients/metrics';
import { startMetricsServer, type MetricsServer } from '../../clients/metrics-server';
import type { ConfigCache } from '../../db/config-cache';
import { pendingStarts } from '../../db/workflow-starts';
import { waitingForWorker } from '../../db/worker-heartbeats';
import { REGIONS, taskQueueFor, type Region } from '../../domain/regions';
import { addApiKeyUsage, reviewQueueStats } from '../../db/operations';

/**
 * The API's metrics: its own registry, with the review-queue and workflow-start gauges read from
 * `db` at scrape time, and `db`'s queries timed. Pass `vaultObserver(metrics)` to the API's Vault client.
 */
export function createApiMetrics(db: Pool, taskQueuePrefix = ''): Metrics {
  const metrics = createMetrics({ component: 'api', reviewQueue: () => reviewQueueStats(db) });
  // Unfinished messages of regions no worker polls now (heartbeats in PostgreSQL, not Temporal):
  // above zero, start that region's worker (`npm run worker -- --region <region>`).
  new Gauge({
    name: METRIC_NAMES.waitingForWorker,
    help: 'Unfinished messages whose region has no live worker (they wait until one polls its task queue)',
    labelNames: ['region'],
    registers: [metrics.registry],
    async collect() {
      const waiting = await waitingForWorker(
        db,
        (region) => taskQueueFor(region as Region, taskQueuePrefix),
        REGIONS,
      );
      for (const region of REGIONS) this.set({ region }, waiting.get(region) ?? 0);
    },
  });
  // Accepted messages whose workflow is not started yet (relay/start-relay.ts): above zero for more
  // than a moment means Temporal is unreachable or refusing starts, or backpressure holds them.
  queueGauges(
    [metrics.registry],
    {
      name: METRIC_NAMES.startsPending,
      help: 'Accepted messages whose workflow is not started yet',
    },
    {
      name: METRIC_NAMES.startsAge,
      help: 'Age of the oldest accepted message whose workflow is not started yet (0 when none)',
    },
    async () => {
      const { count, oldestSeconds } = await pendingStarts(db);
      return { depth: count, oldestAgeSeconds: oldestSeconds };
    },
  );
  observeQueries(db, (seconds, ok) =>
    metrics.dbSeconds.observe({ outcome: ok ? 'ok' : 'error' }, seconds),
  );
  return metrics;
}

/**
 * The configuration cache's state (db/config-cache.ts): whether this process hears configuration
 * changes (0: every request reads PostgreSQL, as when the listening session is lost), and its reads
 * answered from memory or from the database.
 */
export function configCacheMetrics(registry: Registry, cache: ConfigCache): void {
  new Gauge({
    name: METRIC_NAMES.configCacheListening,
    help: '1 while this API process hears configuration changes and keeps its cache; 0 while every request reads PostgreSQL',
    registers: [registry],
    collect() {
      this.set(cache.live ? 1 : 0);
    },
  });
  new Counter({
    name: METRIC_NAMES.configCacheReads,
    help: 'Configuration reads (API keys, rules, prices, caps, review policies) by where they were answered',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ result: 'hit' }, cache.hits);
      this.inc({ result: 'miss' }, cache.misses);
    },
  });
}

/** How often the per-key request counts are written to PostgreSQL (for the anomaly detector). */
const USAGE_FLUSH_MS = 5_000;

declare module 'fastify' {
  interface FastifyInstance {
    /** The API's metrics; served by {@link listenMetrics}, never on the API's own port. */
    metrics: Metrics;
  }
}

/** The `/metrics` listeners of each app, closed with it (a listener may start after the app is ready). */
const listeners = new WeakMap<FastifyInstance, MetricsServer[]>();

/**
 * Serves the API's `GET /metrics` (Prometheus text, no authentication) on a listener of its own,
 * `host:port` (config `metrics.host`, `metrics.apiPort`: 127.0.0.1:9463 by default), closed with the
 * app. Its series hold no tenant or personal value, but volumes by country and purpose are business
 * data: the API's public port does not serve them, and the listener is for the scraper's network only.
 * Returns the listener's URL.
 */
export async function listenMetrics(
  app: FastifyInstance,
  { host, port }: { host: string; port: number },
  log: Logger,
): Promise<string> {
  const server = await startMetricsServer({
    host,
    port,
    portVariable: 'API_METRICS_PORT',
    registry: app.metrics.registry,
    log,
  });
  listeners.get(app)?.push(server);
  log.info({ url: server.url }, 'api metrics listening');
  return server.url;
}

/**
 * Registered on the root instance (not in a child scope), so the usage hook sees every route.
 * The per-key request counter: every authenticated request counts for its API key in
 * `api_key_volume`, buffered in memory and flushed every few seconds and on close.
 */
export async function metricsRoutes(
  app: FastifyInstance,
  { metrics, db }: { metrics: Metrics; db: Pool },
) {
  app.decorate('metrics', metrics);
  const servers: MetricsServer[] = [];
  listeners.set(app, servers);
  app.addHook('onClose', async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  const usage = new Map<
    string,
    { keyId: string; tenant: string; minute: Date; requests: number }
  >();
  const flush = async () => {
    const rows = [...usage.values()];
    usage.clear();
    try {
      await addApiKeyUsage(db, rows);
    } catch (err) {
      app.log.warn({ error: (err as Error).name }, 'api key usage not recorded');
    }
  };
  const timer = setInterval(() => void flush(), USAGE_FLUSH_MS).unref();
  app.addHook('onResponse', async (req) => {
    const p = req.principal;
    if (!p) return;
    const minute = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    const key = `${p.keyId}\n${minute.getTime()}`;
    const row = usage.get(key) ?? { keyId: p.keyId, tenant: p.tenant, minute, requests: 0 };
    row.requests++;
    usage.set(key, row);
  });
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await flush();
  });
}
