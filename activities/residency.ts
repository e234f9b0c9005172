/**
 * Data residency at the activity boundary: a worker processes personal data of its own region only.
 * The task queue already routes a message's activities to its region's workers; this is the second
 * lock, so a misrouted task fails instead of decrypting another region's data.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Region } from '../domain/regions';

/** Which region a worker serves and who it is (recorded in the audit rows of its personal-data activities). */
export interface Residency {
  region: Region;
  identity: string;
}

/** ApplicationFailure type thrown when personal data of another region reaches this worker. */
export const WRONG_REGION = 'WRONG_REGION';

/**
 * @throws ApplicationFailure `WRONG_REGION` (non-retryable) when `region` is not the worker's.
 */
export function assertRegion(residency: Residency | undefined, region: string): void {
  if (residency && residency.region !== region)
    throw ApplicationFailure.nonRetryable(
      `personal data of region ${region} refused by a worker of region ${residency.region}`,
      WRONG_REGION,
    );
}
