import {
  createDataConverter,
  createTemporalClient,
  temporalConnectionOptions,
} from '../clients/temporal';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createBookkeepingActivities } from '../activities/bookkeeping';
import { createCarrierActivities } from '../activities/carriers';
import { createPoolActivities } from '../activities/pools';
import { createPrivacyActivities } from '../activities/privacy';
import { createSpendActivities } from '../activities/spend';
import { createReviewActivities } from '../activities/review';
import { createVaultActivities } from '../activities/vault';
import { createDbPool } from '../clients/db';
import { createMoInbox } from '../clients/mo-inbox';
import { createReceiptRouter } from '../clients/receipt-router';
import { MessageCipher } from '../clients/message-cipher';
import { VaultClient } from '../clients/vault';
import type { Config } from '../config/config';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import { taskQueueFor, type Region } from '../workflows/definitions';
import { purgeSweepWorkflowId, type purgeSweepWorkflow } from '../workflows/retention';
import { createCarriers } from './carriers';

export interface PipelineWorker {
  worker: Worker;
  /** Vault client of this worker (its request counter feeds the benchmark). */
  vault: VaultClient;
  /** Stops polling, waits for in-flight activities, then closes carriers and connections. */
  run(): Promise<void>;
}

/**
 * Wires one region's worker: clients, carrier adapters, activities and the Temporal worker.
 * The only place where activities meet their clients; the process entry and the tests both use it.
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
  const db = createDbPool(config.database, `sms-worker-${region}`);
  const vault = new VaultClient({ ...config.vault, log });
  const cipher = new MessageCipher({ vault, ...config.messageSecrets });
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  // One codec for the worker and its client: data keys are drawn and cached once per process.
  const { dataConverter } = createDataConverter(config, vault);
  const temporal = await createTemporalClient(config, vault, dataConverter);
  const routeReceipt = createReceiptRouter({ db, temporal, log });
  const carriers = createCarriers(config.carriers, {
    log,
    onReceipt: routeReceipt,
    onMobileOriginated: createMoInbox({ db, vault, keywords: config.optOut.keywords, log }),
    publicUrl: config.publicUrl,
  });
  const taskQueue = taskQueueFor(region, config.temporal.taskQueuePrefix);

  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
    activities: {
      ...createVaultActivities({ vault, db, log, cipher }),
      ...createPoolActivities({ db, log }),
      ...createSpendActivities({ db }),
      ...createCarrierActivities({ db, vault, carriers, log, cipher }),
      ...createBookkeepingActivities({ db, callbackSecret: config.callbacks.signingSecret, log }),
      ...createPrivacyActivities({
        db,
        temporal,
        log,
        retentionDefaults: config.retention.defaults,
        otpExemptDefault: config.optOut.otpExempt,
      }),
      ...createReviewActivities({ db, cipher, carriers, log }),
    },
    shutdownGraceTime: '30s',
    dataConverter,
  });

  // The region's purge sweeper: started once, whichever worker comes first (the others find it running).
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

  return {
    worker,
    vault,
    async run() {
      try {
        await worker.run();
      } finally {
        await carriers.close();
        await temporal.connection.close();
        await connection.close();
        await db.end();
      }
    },
  };
}
