import { WorkflowIdConflictPolicy } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import type { Config } from '../config/config';
import {
  ANOMALY_DETECTOR_ID,
  type AnomalyDetectorInput,
  type anomalyDetectorWorkflow,
} from '../workflows/anomaly';
import { taskQueueFor } from '../domain/regions';

/**
 * Starts the anomaly detector, one long-running `anomalyDetectorWorkflow` on the global queue (it
 * reads only redacted metadata), unless it runs already (then that one is kept, with its interval).
 * Earlier versions ran it from a Temporal Schedule of the same id: that schedule is deleted, so no
 * second detector runs. Idempotent; called by the global worker at start-up. Returns the workflow id.
 */
export async function ensureAnomalyDetector(
  client: Client,
  config: Config,
  {
    workflowId = `${config.temporal.taskQueuePrefix}${ANOMALY_DETECTOR_ID}`,
    intervalSeconds = config.anomaly.intervalSeconds || 60,
    input = {
      detector: workflowId,
      firstWindowSeconds: intervalSeconds,
      intervalSeconds,
      // Regions whose workers stopped (heartbeats in PostgreSQL) alert after a minute.
      workers: { taskQueuePrefix: config.temporal.taskQueuePrefix },
    },
  }: { workflowId?: string; intervalSeconds?: number; input?: AnomalyDetectorInput } = {},
): Promise<string> {
  await client.schedule
    .getHandle(workflowId)
    .delete()
    .catch(() => undefined);
  await client.workflow.start<typeof anomalyDetectorWorkflow>('anomalyDetectorWorkflow', {
    workflowId,
    taskQueue: taskQueueFor('global', config.temporal.taskQueuePrefix),
    args: [input],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
  });
  return workflowId;
}
