import { loadConfig } from '../config/config';
import { createLogger } from '../config/logger';
import { installProcessGuards } from '../config/process-guards';
import { REGIONS, type Region } from '../domain/regions';
import { prebuiltWorkflowBundle } from '../workers/bundle';
import { createPipelineWorker } from '../workers/pipeline';
import { ensureAnomalyDetector } from '../workers/schedules';
import { installRuntime } from '../workers/temporal-logging';
import { workerMetricsPorts } from '../workers/metrics-ports';

/**
 * The worker process for one region (`npm run worker -- --region cn`, default from WORKER_REGION):
 * polls that region's task queue. On SIGINT/SIGTERM the Temporal runtime stops polling and the worker
 * finishes in-flight activities (up to the grace time) before exiting.
 */
async function main() {
  const config = loadConfig();
  const regionArg = process.argv.indexOf('--region');
  const region = (regionArg > 0 ? process.argv[regionArg + 1] : config.temporal.region) as Region;
  if (!REGIONS.includes(region)) throw new Error(`--region must be one of ${REGIONS.join(', ')}`);
  const log = createLogger(`worker-${region}`, config.logLevel);
  // Nothing ends this process silently: see config/process-guards.ts.
  installProcessGuards(log);
  installRuntime(log, 'INFO', workerMetricsPorts(region, config.metrics).sdkAddress || undefined);
  const workflowBundle = prebuiltWorkflowBundle();
  log.info({ prebuiltBundle: workflowBundle !== undefined }, 'workflow code');
  const pipeline = await createPipelineWorker({ config, log, region, workflowBundle });
  if (region === 'global' && config.anomaly.intervalSeconds > 0) {
    const detectorId = await ensureAnomalyDetector(pipeline.temporal, config);
    log.info({ detectorId }, 'anomaly detector running');
  }
  log.info({ region, metrics: pipeline.metricsUrl }, 'worker polling');
  await pipeline.run();
  log.info('worker stopped');
}

main().catch((err: Error) => {
  process.stderr.write(`worker failed: ${err.name}: ${err.message}\n`);
  process.exit(1);
});
