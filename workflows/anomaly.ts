import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineUpdate,
  proxyActivities,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import type {
  AnomalyActivities,
  DetectAnomaliesInput,
  DetectAnomaliesResult,
} from '../activities/anomaly/detect-anomalies';
import { bookkeeping } from './options';
import { STEP_SUMMARIES } from '../domain/step-summaries';

const { detectAnomalies } = proxyActivities<AnomalyActivities>({
  ...bookkeeping,
  summary: STEP_SUMMARIES.anomalyDetect,
});

/** The id of the anomaly detector's workflow (one per namespace and task-queue prefix). */
export const ANOMALY_DETECTOR_ID = 'anomaly-detection';

/** Evaluates the window up to now at once and answers its result (operators, tests). */
export const runAnomalyDetectionUpdate = defineUpdate<DetectAnomaliesResult>('runNow');

/** Windows one run evaluates before it continues as new (its history stays a few hundred events). */
export const WINDOWS_PER_RUN = 100;

/** Input of {@link anomalyDetectorWorkflow}. */
export interface AnomalyDetectorInput extends DetectAnomaliesInput {
  /** Seconds between windows. */
  intervalSeconds: number;
}

/**
 * The anomaly detector: one long-running workflow (not a Schedule starting a run per minute, which
 * flooded the workflow list): evaluate the window since the last one, wait `intervalSeconds`, again;
 * after {@link WINDOWS_PER_RUN} windows it continues as new. Alerts, episodes, quarantines and the
 * watermark are the activity's (one transaction, the watermark row locked), so a window run through
 * the `runNow` update at the same time is evaluated after, never twice.
 */
export async function anomalyDetectorWorkflow(input: AnomalyDetectorInput): Promise<void> {
  const { intervalSeconds, ...detect } = input;
  setHandler(runAnomalyDetectionUpdate, () => detectAnomalies(detect));
  for (let i = 0; i < WINDOWS_PER_RUN; i++) {
    await detectAnomalies(detect);
    await sleep(intervalSeconds * 1000, { summary: STEP_SUMMARIES.anomalyWait });
  }
  await condition(allHandlersFinished);
  return continueAsNew<typeof anomalyDetectorWorkflow>(input);
}
