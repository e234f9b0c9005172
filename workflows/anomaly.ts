import { proxyActivities } from '@temporalio/workflow';
import type {
  AnomalyActivities,
  DetectAnomaliesInput,
  DetectAnomaliesResult,
} from '../activities/anomaly';
import { bookkeeping } from './options';

const { detectAnomalies } = proxyActivities<AnomalyActivities>({
  ...bookkeeping,
  summary: 'compare failure rates and API volume with their EWMA baselines',
});

/** The id of the anomaly detector's Temporal Schedule (one per namespace and task-queue prefix). */
export const ANOMALY_SCHEDULE_ID = 'anomaly-detection';

/**
 * One run of the anomaly detector, started by its Temporal Schedule (every minute by default):
 * evaluates the window since the previous run. Alerts, episodes and quarantines are the activity's
 * (one transaction), so the workflow is a single step; its result lists the alerts for the UI.
 */
export async function anomalyDetectionWorkflow(
  input: DetectAnomaliesInput,
): Promise<DetectAnomaliesResult> {
  return detectAnomalies(input);
}
