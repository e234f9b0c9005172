import { createDataConverter, createTemporalClient } from '../clients/temporal';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createBookkeepingActivities } from '../activities/bookkeeping';
import { createCarrierActivities } from '../activities/carriers';
import { createPoolActivities } from '../activities/pools';
import { createReviewActivities } from '../activities/review';
import { createVaultActivities } from '../activities/vault';
import { createDbPool } from '../clients/db';
import { createReceiptRouter } from '../clients/receipt-router';
import { MessageCipher } from '../clients/message-cipher';
import { VaultClient } from '../clients/vault';
import type { Config } from '../config/config';
import { taskQueueFor, type Region } from '../workflows/definitions';
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
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  // One codec for the worker and its client: data keys are drawn and cached once per process.
  const { dataConverter } = createDataConverter(config, vault);
  const temporal = await createTemporalClient(config, vault, dataConverter);
  const routeReceipt = createReceiptRouter({ db, temporal, log });
  const carriers = createCarriers(config.carriers, {
    log,
    onReceipt: routeReceipt,
    publicUrl: config.publicUrl,
  });

  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: taskQueueFor(region, config.temporal.taskQueuePrefix),
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
    activities: {
      ...createVaultActivities({ vault, db, log, cipher }),
      ...createPoolActivities({ db, log }),
      ...createCarrierActivities({ db, vault, carriers, log, cipher }),
      ...createBookkeepingActivities({ db, callbackSecret: config.callbacks.signingSecret, log }),
      ...createReviewActivities({ db, cipher, carriers, log }),
    },
    shutdownGraceTime: '30s',
    dataConverter,
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
