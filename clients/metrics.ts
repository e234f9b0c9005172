/**
 * Prometheus metrics (prom-client). Each process part (the API, each worker) owns one registry, so
 * several of them can share a process (as the e2e tests run them) without mixing their series.
 *
 * Labels are low-cardinality operational values only: carrier, ISO country, purpose, region,
 * status, operation. Never a tenant, an API key id, a message id, a number or a body: per-key
 * volume goes to the anomaly detector (PostgreSQL), not to labels.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The metric names, for tests and dashboards. */
export const METRIC_NAMES = {
  accepted: 'sms_messages_accepted_total',
  dispatched: 'sms_messages_dispatched_total',
  delivered: 'sms_messages_delivered_total',
  failed: 'sms_messages_failed_total',
  dispatchSeconds: 'sms_dispatch_duration_seconds',
  receiptSeconds: 'sms_receipt_latency_seconds',
  retries: 'sms_dispatch_retries_total',
  failovers: 'sms_carrier_failovers_total',
  reviewDepth: 'sms_review_queue_depth',
  reviewAge: 'sms_review_queue_oldest_age_seconds',
  startsPending: 'sms_workflow_starts_pending',
  startsAge: 'sms_workflow_starts_oldest_age_seconds',
  waitingForWorker: 'sms_messages_waiting_for_worker',
  configCacheListening: 'sms_config_cache_listening',
  configCacheReads: 'sms_config_cache_reads_total',
  vaultSeconds: 'sms_vault_request_duration_seconds',
  dbSeconds: 'sms_db_query_duration_seconds',
  activities: 'sms_activity_executions_total',
} as const;

/** Where the review-queue gauges read from; see `db/operations.ts` `reviewQueueStats`. */
export type ReviewQueueReader = () => Promise<{ depth: number; oldestAgeSeconds: number }>;

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const RECEIPT_BUCKETS = [0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600];

/** The metrics of one process part, on its own registry. */
export function createMetrics({
  component,
  reviewQueue,
  defaultMetrics = true,
}: {
  /** `api` or `worker-<region>`; set as the registry's default label. */
  component: string;
  /** Registers the review-queue gauges, read at scrape time (the API does; workers do not). */
  reviewQueue?: ReviewQueueReader;
  /** Node.js process metrics (heap, event loop lag, GC). */
  defaultMetrics?: boolean;
}) {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  if (defaultMetrics) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const metrics = {
    registry,
    accepted: new Counter({
      name: METRIC_NAMES.accepted,
      help: 'Messages accepted by the API',
      labelNames: ['country', 'purpose', 'region'] as const,
      registers,
    }),
    dispatched: new Counter({
      name: METRIC_NAMES.dispatched,
      help: 'Messages a carrier acknowledged (every part submitted)',
      labelNames: ['carrier', 'country', 'purpose'] as const,
      registers,
    }),
    delivered: new Counter({
      name: METRIC_NAMES.delivered,
      help: 'Messages that reached the final status delivered',
      labelNames: ['carrier', 'country', 'purpose'] as const,
      registers,
    }),
    failed: new Counter({
      name: METRIC_NAMES.failed,
      help: 'Messages that ended failed, undelivered or unconfirmed (carrier "none" if never submitted)',
      labelNames: ['carrier', 'country', 'purpose', 'status'] as const,
      registers,
    }),
    dispatchSeconds: new Histogram({
      name: METRIC_NAMES.dispatchSeconds,
      help: 'Duration of one carrier submit (all parts), by outcome',
      labelNames: ['carrier', 'outcome'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    receiptSeconds: new Histogram({
      name: METRIC_NAMES.receiptSeconds,
      help: 'From carrier acknowledgement to the final status',
      labelNames: ['carrier', 'status'] as const,
      buckets: RECEIPT_BUCKETS,
      registers,
    }),
    retries: new Counter({
      name: METRIC_NAMES.retries,
      help: 'Carrier submit attempts after the first (activity retries)',
      labelNames: ['carrier'] as const,
      registers,
    }),
    failovers: new Counter({
      name: METRIC_NAMES.failovers,
      help: 'Carrier submits given up for the next carrier (permanent error, carrier unavailable)',
      labelNames: ['carrier', 'reason'] as const,
      registers,
    }),
    vaultSeconds: new Histogram({
      name: METRIC_NAMES.vaultSeconds,
      help: 'Vault HTTP requests, by operation (transit op or login) and outcome',
      labelNames: ['operation', 'outcome'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    dbSeconds: new Histogram({
      name: METRIC_NAMES.dbSeconds,
      help: 'PostgreSQL pool queries, by outcome',
      labelNames: ['outcome'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    activities: new Counter({
      name: METRIC_NAMES.activities,
      help: 'Activities this worker executed, by type, region of the worker and outcome',
      labelNames: ['activity', 'region', 'outcome'] as const,
      registers,
    }),
  };
  if (reviewQueue) {
    queueGauges(
      registers,
      { name: METRIC_NAMES.reviewDepth, help: 'Review tasks waiting for a decision' },
      {
        name: METRIC_NAMES.reviewAge,
        help: 'Age of the oldest review task waiting for a decision (0 when none)',
      },
      reviewQueue,
    );
  }
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * A queue's two gauges, its depth and the age of its oldest item, read at scrape time: one read
 * per scrape feeds both.
 */
export function queueGauges(
  registers: Registry[],
  depth: { name: string; help: string },
  age: { name: string; help: string },
  read: ReviewQueueReader,
): void {
  let pending: ReturnType<ReviewQueueReader> | undefined;
  const once = () => (pending ??= read().finally(() => setImmediate(() => (pending = undefined))));
  new Gauge({
    ...depth,
    registers,
    async collect() {
      this.set((await once()).depth);
    },
  });
  new Gauge({
    ...age,
    registers,
    async collect() {
      this.set((await once()).oldestAgeSeconds);
    },
  });
}

/** Seconds since `start` (a `process.hrtime.bigint()` value). */
export const secondsSince = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

/** A Vault client `observe` option feeding `metrics`' Vault-latency histogram. */
export const vaultObserver =
  (metrics: Metrics) => (operation: string, seconds: number, ok: boolean) =>
    metrics.vaultSeconds.observe({ operation, outcome: ok ? 'ok' : 'error' }, seconds);
