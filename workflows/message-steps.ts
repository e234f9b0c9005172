/**
 * The message's own bookkeeping steps as the workflows call them: local activities (see
 * `localBookkeeping` in ./options) with the fixed one-line summaries an operator reads in the
 * Temporal UI. One place, so every workflow module records a status the same way.
 */
import { proxyLocalActivities } from '@temporalio/workflow';
import type { BookkeepingActivities } from '../activities/bookkeeping/bookkeeping-activities';
import type { PoolActivities } from '../activities/pools/pick-sender';
import type { PrivacyActivities } from '../activities/privacy/privacy-activities';
import type { SpendActivities } from '../activities/spend/release-charge';
import type { VaultActivities } from '../activities/vault/tokenize-message';
import { localBookkeeping } from './options';
import { STEP_SUMMARIES } from '../domain/step-summaries';

const step = <T>(summary: string) => proxyLocalActivities<T>({ ...localBookkeeping, summary });

export const { tokenizeMessage } = step<VaultActivities>(STEP_SUMMARIES.tokenize);
export const { checkSuppression } = step<PrivacyActivities>(STEP_SUMMARIES.optOutCheck);
export const { pickSender } = step<PoolActivities>(STEP_SUMMARIES.pickSender);
export const { recordStatus } = step<BookkeepingActivities>(STEP_SUMMARIES.recordStatus);
export const { releaseCharge } = step<SpendActivities>(STEP_SUMMARIES.releaseCharge);
export const { schedulePurge } = step<PrivacyActivities>(STEP_SUMMARIES.schedulePurge);
