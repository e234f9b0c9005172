import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '../config/config';
import { createLogger } from '../config/logger';
import { TASK_QUEUES } from '../workflows/definitions';
import { installRuntime } from './temporal-logging';

/**
 * The worker process for one region (`npm run worker -- --region cn`, default from WORKER_REGION):
 * polls that region's task queue. On SIGINT/SIGTERM the Temporal runtime stops polling and the worker
 * finishes in-flight activities (up to the grace time) before exiting.
 */
async function main() {
  const config = loadConfig();
  const regionArg = process.argv.indexOf('--region');
  const region = (
    regionArg > 0 ? process.argv[regionArg + 1] : config.temporal.region
  ) as keyof typeof TASK_QUEUES;
  if (!(region in TASK_QUEUES))
    throw new Error(`--region must be one of ${Object.keys(TASK_QUEUES).join(', ')}`);
  const log = createLogger(`worker-${region}`, config.logLevel);
  installRuntime(log);

  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: TASK_QUEUES[region],
    workflowsPath: require.resolve('../workflows'),
    activities: {},
    shutdownGraceTime: '30s',
  });
  log.info({ taskQueue: TASK_QUEUES[region] }, 'worker polling');
  await worker.run();
  await connection.close();
  log.info('worker stopped');
}

main().catch((err: Error) => {
  process.stderr.write(`worker failed: ${err.name}: ${err.message}\n`);
  process.exit(1);
});
