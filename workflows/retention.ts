/**
 * Retention: the suppression check (step 2 of a message), the purge schedule recorded when a message
 * finishes (step 7), and the per-region purge sweeper. See docs/retention.md for
 * why one sweeper per region beats a timer or a purge workflow per message.
 */
import { continueAsNew, proxyActivities, sleep, type ActivityOptions } from '@temporalio/workflow';
import type { PrivacyActivities } from '../activities/privacy/privacy-activities';
import type { Purpose } from '../domain/purposes';
import type { Region } from '../domain/regions';
import { checkSuppression, schedulePurge } from './message-steps';
import { STEP_SUMMARIES } from '../domain/step-summaries';

/** A purge batch: Temporal history deletions and a PostgreSQL transaction; heartbeats per message. */
export const purgeBatch: ActivityOptions = {
  startToCloseTimeout: '10m',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
};

const { purgeDueMessages } = proxyActivities<PrivacyActivities>({
  ...purgeBatch,
  summary: STEP_SUMMARIES.purgeDue,
});

/** True when the tenant's suppression list (and its otp policy) stops this message before dispatch. */
export async function isSuppressed(input: {
  tenant: string;
  purpose: Purpose;
  /** The recipient is read from PostgreSQL by message id: the workflow holds no token. */
  messageId: string;
}): Promise<boolean> {
  return (await checkSuppression(input)).suppressed;
}

/** Records when the finished message's personal data is due for purge; the region's sweeper does the rest. */
export async function scheduleMessagePurge(input: {
  messageId: string;
  tenant: string;
  purpose: Purpose;
}): Promise<void> {
  await schedulePurge({ ...input, finishedAt: Date.now() });
}

/** Input of {@link purgeSweepWorkflow}. */
export interface PurgeSweepInput {
  region: Region;
  /** Pause between sweeps when the last batch was not full. */
  intervalSeconds: number;
  batchSize: number;
}

/** Sweeps before the sweeper continues as new, keeping its own history short. */
export const SWEEPS_PER_RUN = 100;

/** The sweeper's workflow id for a region (one per region and task-queue prefix). */
export const purgeSweepWorkflowId = (region: Region, prefix = '') =>
  `purge-sweep-${prefix}${region}`;

/**
 * One per region, forever: purges due messages in batches (a full batch is followed at once by the
 * next), sleeps `intervalSeconds` when there is nothing more, and continues as new every
 * {@link SWEEPS_PER_RUN} sweeps. "Due" is judged at workflow time, so a time-skipping test can let
 * 30 days pass in milliseconds.
 */
export async function purgeSweepWorkflow(input: PurgeSweepInput): Promise<never> {
  for (let i = 0; i < SWEEPS_PER_RUN; i++) {
    const { purged } = await purgeDueMessages({
      region: input.region,
      now: Date.now(),
      limit: input.batchSize,
    });
    if (purged < input.batchSize)
      await sleep(input.intervalSeconds * 1000, { summary: STEP_SUMMARIES.sweeperWait });
  }
  return continueAsNew<typeof purgeSweepWorkflow>(input);
}
