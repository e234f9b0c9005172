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

const step = <T>(summary: string) => proxyLocalActivities<T>({ ...localBookkeeping, summary });

export const { tokenizeMessage } = step<VaultActivities>(
  'tokenize: encrypt number and body in the region (Vault transit)',
);
export const { checkSuppression } = step<PrivacyActivities>('opt-out check (PostgreSQL)');
export const { pickSender } = step<PoolActivities>('pick sender: reserve a pool number');
export const { recordStatus } = step<BookkeepingActivities>('record status (PostgreSQL)');
export const { releaseCharge } = step<SpendActivities>(
  'release the spend reservation (PostgreSQL)',
);
export const { schedulePurge } = step<PrivacyActivities>(
  'schedule purge: due after the retention period',
);
