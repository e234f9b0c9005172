import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { DetectAnomaliesInput } from '../activities/anomaly';
import type { Config } from '../config/config';
import { ANOMALY_SCHEDULE_ID } from '../workflows/anomaly';
import { taskQueueFor } from '../workflows/definitions';

/**
 * Creates the anomaly detector's Temporal Schedule, or brings an existing one up to date (interval,
 * task queue, input): every `intervalSeconds`, one `anomalyDetectionWorkflow` on the global queue
 * (it reads only redacted metadata). A run still going when the next is due is skipped, not queued.
 * Idempotent; called by the global worker at start-up. Returns the schedule id.
 */
export async function ensureAnomalySchedule(
  client: Client,
  config: Config,
  {
    scheduleId = `${config.temporal.taskQueuePrefix}${ANOMALY_SCHEDULE_ID}`,
    intervalSeconds = config.anomaly.intervalSeconds || 60,
    input = {
      detector: scheduleId,
      firstWindowSeconds: intervalSeconds,
      // Regions whose workers stopped (heartbeats in PostgreSQL) alert after a minute.
      workers: { taskQueuePrefix: config.temporal.taskQueuePrefix },
    },
  }: { scheduleId?: string; intervalSeconds?: number; input?: DetectAnomaliesInput } = {},
): Promise<string> {
  const spec = { intervals: [{ every: `${intervalSeconds}s` }] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'anomalyDetectionWorkflow',
    workflowId: `${scheduleId}-run`,
    taskQueue: taskQueueFor('global', config.temporal.taskQueuePrefix),
    args: [input],
  };
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      policies: {
        overlap: ScheduleOverlapPolicy.SKIP,
        catchupWindow: `${Math.max(intervalSeconds, 10)}s`,
      },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule
      .getHandle(scheduleId)
      .update((previous) => ({ ...previous, spec, action }));
  }
  return scheduleId;
}
