import type { Pool } from 'pg';
import { releaseCharge } from '../../db/charges';

export interface ReleaseChargeInput {
  messageId: string;
}

/** Activities of the spend cap: the reservation made at accept time is given back here. */
export function createSpendActivities({ db }: { db: Pool }) {
  return {
    /**
     * Releases the message's charge (its reservation under the monthly cap) because it ended without
     * reaching a carrier. Idempotent: a retry after success changes nothing.
     */
    async releaseCharge({ messageId }: ReleaseChargeInput): Promise<{ released: boolean }> {
      return { released: await releaseCharge(db, messageId) };
    },
  };
}

/** The spend activities, as the workflow proxies them. */
export type SpendActivities = ReturnType<typeof createSpendActivities>;
