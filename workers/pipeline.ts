import { hostname } from 'node:os';
import type { Client } from '@temporalio/client';
import {
  connectRegionalClients,
  createRegionalConverters,
  temporalConnectionOptions,
} from '../clients/temporal';
import { NativeConnection, Worker, type ActivityInterceptorsFactory } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createAnomalyActivities } from '../activities/anomaly/detect-anomalies';
import { createBookkeepingActivities } from '../activities/bookkeeping/bookkeeping-activities';
import { createCarrierActivities } from '../activities/carriers/carrier-activities';
import { createPoolActivities } from '../activities/pools/pick-sender';
import { createPrivacyActivities } from '../activities/privacy/privacy-activities';
import { messageWorkflows } from './message-workflows';
import { createSpendActivities } from '../activities/spend/release-charge';
import { createReviewActivities } from '../activities/review/review-activities';
import { createVaultActivities } from '../activities/vault/tokenize-message';
import { CallbackSecrets } from '../encryption/callback-secrets';
import { createDbPool, observeQueries } from '../clients/db';
import { TOMBSTONE_HORIZON_MS } from '../domain/scheduling';
import { keepHeartbeat } from '../db/worker-heartbeats';
import { createOutboundHttp } from '../clients/outbound-http';
import { createMetrics, vaultObserver, type Metrics } from '../clients/metrics';
import { createMoInbox } from '../inbound/mo-inbox';
import { createReceiptReconciler, createReceiptRouter } from '../inbound/receipt-router';
import { MessageCipher } from '../encryption/message-cipher';
import { SubscriberTokens } from '../encryption/subscriber-token';
import { vaultClientFor, type VaultClient } from '../clients/vault';
import type { Config } from '../config/config';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import { taskQueueFor, type Region } from '../domain/regions';
import { purgeSweepWorkflowId, type purgeSweepWorkflow } from '../workflows/retention';
import { createCarriers } from './carriers';
import { startMetricsServer } from '../clients/metrics-server';
import { workerMetricsPorts } from './metrics-ports';
import { sdkMetricsUrl } from './temporal-logging';

export interface PipelineWorker {
  worker: Worker;
  /** Vault client of this worker (its request counter feeds the benchmark). */
  vault: VaultClient;
  /** This worker's Temporal client (same codec as the worker). */
  temporal: Client;
  /** This worker's metrics (its own registry). */
  metrics: Metrics;
  /** This worker's `/metrics` URL (our series and the Temporal SDK's). */
  metricsUrl: string;
  /** The identity this worker polls with, also recorded in the audit rows of its personal-data activities. */
  identity: string;
  /** Stops polling, waits for in-flight activities, then closes carriers and connections. */
  run(): Promise<void>;
}

/** The region's clients: its database, Vault, encryption, and Temporal (one codec for the worker and its client). */
async function connectRegion(config: Config, log: Logger, region: Region, metrics: Metrics) {
  const regional = config.regions[region];
  const db = observeQueries(
    createDbPool(
      { ...config.database, url: regional.databaseUrl ?? config.database.url },
      `sms-worker-${region}`,
      log,
    ),
    (seconds, ok) => metrics.dbSeconds.observe({ outcome: ok ? 'ok' : 'error' }, seconds),
  );
  const vault = vaultClientFor(config, `worker-${region}`, {
    addr: regional.vaultAddr ?? config.vault.addr,
    log,
    observe: vaultObserver(metrics),
  });
  const cipher = new MessageCipher({ vault, ...config.messageSecrets });
  // Tenant token keys are derived once per process; a message's tokens are read by id (its number
  // opened only while a token rotation is in progress).
  const tokens = new SubscriberTokens({ vault, db, cipher });
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  // The worker encodes under its region's codec key (its workflows' outputs, activity inputs and
  // results stay in the region); its clients signal each message under the message's region's key.
  // One set of codecs for the worker and its clients: data keys are drawn and cached once per process.
  const converters = createRegionalConverters(config, vault);
  const { dataConverter } = converters[region];
  const regions = await connectRegionalClients(config, vault, converters);
  const temporal = regions.forRegion(region);
  return { db, vault, cipher, tokens, connection, dataConverter, regions, temporal };
}

type RegionClients = Awaited<ReturnType<typeof connectRegion>>;

/**
 * Outbound HTTP with the tenants' destinations (status callbacks, with their signing secrets) and,
 * when configured, the operators' anomaly webhook with its own allow-list.
 */
function outboundHttp(config: Config, { db, vault }: RegionClients) {
  const callbackHttp = createOutboundHttp({
    httpsOnly: config.outbound.httpsOnly,
    allow: config.outbound.allowCidrs,
  });
  const callbackSecrets = new CallbackSecrets({ db, vault });
  const anomalyWebhook = config.anomaly.webhook;
  const anomalyHttp = anomalyWebhook
    ? createOutboundHttp({
        httpsOnly: config.outbound.httpsOnly,
        allow: [...config.outbound.allowCidrs, ...anomalyWebhook.allowCidrs],
      })
    : undefined;
  return { callbackHttp, callbackSecrets, anomalyWebhook, anomalyHttp };
}

/** Every activity the region's worker runs, each factory given its clients. */
function regionActivities(
  config: Config,
  log: Logger,
  metrics: Metrics,
  residency: { region: Region; identity: string },
  { db, vault, cipher, tokens, temporal, regions }: RegionClients,
  carriers: ReturnType<typeof createCarriers>,
  { callbackHttp, callbackSecrets, anomalyWebhook, anomalyHttp }: ReturnType<typeof outboundHttp>,
) {
  return {
    ...createVaultActivities({
      vault,
      db,
      log,
      cipher,
      residency,
      tokens,
      backstop: {
        retentionDefaults: config.retention.defaults,
        stuckAfterSeconds: config.retention.stuckAfterSeconds,
      },
    }),
    ...createPoolActivities({ db, log, tokens }),
    ...createSpendActivities({ db }),
    ...createCarrierActivities({ db, vault, carriers, log, cipher, metrics, residency }),
    ...createBookkeepingActivities({
      db,
      callbacks: {
        http: callbackHttp,
        secretsFor: (messageId) => callbackSecrets.forMessage(messageId),
      },
      log,
      metrics,
    }),
    ...createAnomalyActivities({
      db,
      log,
      webhook:
        anomalyWebhook && anomalyHttp
          ? { url: anomalyWebhook.url, secret: anomalyWebhook.secret, http: anomalyHttp }
          : undefined,
    }),
    ...createPrivacyActivities({
      db,
      temporal,
      messages: messageWorkflows(regions),
      log,
      retentionDefaults: config.retention.defaults,
      otpExemptDefault: config.optOut.otpExempt,
      residency,
      tokens,
      tombstoneHorizonMs: TOMBSTONE_HORIZON_MS + config.retention.stuckAfterSeconds * 1000,
    }),
    ...createReviewActivities({ db, cipher, carriers, log }),
  };
}

/** Counts every activity execution by activity, region and outcome. */
function countActivities(metrics: Metrics, region: Region): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const activity = ctx.info.activityType;
        try {
          const result = await next(input);
          metrics.activities.inc({ activity, region, outcome: 'ok' });
          return result;
        } catch (err) {
          metrics.activities.inc({ activity, region, outcome: 'error' });
          throw err;
        }
      },
    },
  });
}

/** The region's purge sweeper: started once, whichever worker comes first (the others find it running). */
async function startPurgeSweeper(
  temporal: Client,
  config: Config,
  region: Region,
  taskQueue: string,
): Promise<void> {
  await temporal.workflow.start<typeof purgeSweepWorkflow>('purgeSweepWorkflow', {
    workflowId: purgeSweepWorkflowId(region, config.temporal.taskQueuePrefix),
    taskQueue,
    args: [
      {
        region,
        intervalSeconds: config.retention.sweepIntervalSeconds,
        batchSize: config.retention.batchSize,
      },
    ],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
  });
}

/**
 * Wires one region's worker: clients, carrier adapters, activities and the Temporal worker.
 * The only place where activities meet their clients; the process entry and the tests both use it.
 * The region decides the task queue, the transit key of personal data, and (when configured) the
 * region's own Vault and database.
 */
export async function createPipelineWorker({
  config,
  log,
  region,
  workflowBundle,
}: {
  config: Config;
  log: Logger;
  region: Region;
  /** A prebuilt workflow bundle (bundleWorkflowCode); without it the worker bundles at start-up. */
  workflowBundle?: { code: string };
}): Promise<PipelineWorker> {
  const identity = `sms-worker-${region}/${process.pid}@${hostname()}`;
  const metrics = createMetrics({ component: `worker-${region}` });
  const clients = await connectRegion(config, log, region, metrics);
  const { db, vault, tokens, connection, dataConverter, temporal, regions } = clients;
  const routeReceipt = createReceiptRouter({ db, temporal: regions, log });
  const carriers = createCarriers(config.carriers, {
    log,
    onReceipt: routeReceipt,
    onMobileOriginated: createMoInbox({ db, vault, tokens, keywords: config.optOut.keywords, log }),
    publicUrl: config.publicUrl,
    outbound: config.outbound,
  });
  const outbound = outboundHttp(config, clients);
  const residency = { region, identity };
  const taskQueue = taskQueueFor(region, config.temporal.taskQueuePrefix);

  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue,
    identity,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
    activities: regionActivities(config, log, metrics, residency, clients, carriers, outbound),
    interceptors: { activity: [countActivities(metrics, region)] },
    shutdownGraceTime: '30s',
    dataConverter,
    ...config.worker,
  });
  const metricsServer = await startMetricsServer({
    host: config.metrics.host,
    port: workerMetricsPorts(region, config.metrics).port,
    portVariable: 'WORKER_METRICS_PORT',
    registry: metrics.registry,
    sdkUrl: sdkMetricsUrl(),
    log,
  });
  await startPurgeSweeper(temporal, config, region, taskQueue);

  return {
    worker,
    vault,
    temporal,
    metrics,
    metricsUrl: metricsServer.url,
    identity,
    async run() {
      // Journaled receipts whose signal a crash (of this or any process) cut off: now, then periodically.
      const stopReconciler = createReceiptReconciler({ db, temporal: regions, log }).start(
        config.receiptReconcileIntervalSeconds * 1000,
      );
      // Its heartbeat row says this task queue is polled (db/worker-heartbeats.ts): the API's reads
      // and the anomaly detector learn a region has no worker without asking Temporal.
      const heartbeat = keepHeartbeat(db, { identity, region, taskQueue }, (err) =>
        log.warn({ error: err.name }, 'worker heartbeat not written'),
      );
      try {
        await worker.run();
      } finally {
        await heartbeat.stop();
        await stopReconciler();
        await metricsServer.close();
        await carriers.close();
        outbound.callbackHttp.close();
        outbound.anomalyHttp?.close();
        await temporal.connection.close();
        await connection.close();
        await vault.close();
        await db.end();
      }
    },
  };
}
