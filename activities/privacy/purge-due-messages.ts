/**
 * Retention: when a finished message is due for purge, and the region's sweep that purges due
 * messages (and those whose workflows ended without finishing).
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { assertRegion, type Residency } from '../residency';
import { claimDuePurges, setPurgeAfter, type RetentionDefaults } from '../../db/privacy';
import { dropExpiredTombstones } from '../../db/erasures';
import { withTransaction } from '../../db/transaction';
import type { Purpose } from '../../domain/purposes';
import type { Region } from '../../domain/regions';
import type { Purger } from './purge-messages';

export interface SchedulePurgeInput {
  messageId: string;
  tenant: string;
  purpose: Purpose;
  /** Epoch ms the message reached its final status (workflow time). */
  finishedAt: number;
}

export interface PurgeDueMessagesInput {
  region: Region;
  /** Epoch ms: messages whose purge_after is at or before this are due (workflow time). */
  now: number;
  limit: number;
}

/** The retention activities over PostgreSQL, the Temporal client (listing ended workflows) and the purge. */
export function createRetentionActivities({
  db,
  temporal,
  log,
  retentionDefaults,
  residency,
  tombstoneHorizonMs,
  purger,
}: {
  db: Pool;
  temporal: Client;
  log: Logger;
  retentionDefaults: RetentionDefaults;
  /** The worker's region and identity: a sweep of another region is refused (WRONG_REGION). */
  residency?: Residency;
  /** How long erasure tombstones are kept (ms); unset: they are kept. */
  tombstoneHorizonMs?: number;
  purger: Purger;
}) {
  /**
   * The purge backstop for workflows that ended without finishing: message workflows of this
   * worker's task queue (its region) that Temporal reports terminated, failed, timed out or
   * cancelled. They never reached `schedulePurge`; the purge deletes their histories, so each is
   * listed until it is gone (no cursor to lose).
   */
  async function endedUnfinished(limit: number): Promise<string[]> {
    const taskQueue = Context.current().info.taskQueue.replace(/'/g, '');
    const query =
      `WorkflowType = 'sendMessageWorkflow' AND TaskQueue = '${taskQueue}' AND ` +
      `ExecutionStatus IN ('Terminated', 'Failed', 'TimedOut', 'Canceled')`;
    const ids: string[] = [];
    for await (const wf of temporal.workflow.list({ query, pageSize: limit })) {
      ids.push(wf.workflowId);
      if (ids.length >= limit) break;
    }
    return ids;
  }

  return {
    /**
     * Records when a finished message is due for purge: finishedAt + the tenant's retention for its
     * purpose. The region's sweeper purges it then. Idempotent; a purged message stays purged.
     */
    async schedulePurge(input: SchedulePurgeInput): Promise<{ purgeAfter?: number }> {
      // One statement: the tenant's retention override (else the default) and the update together.
      const purgeAfter = await setPurgeAfter(db, input, retentionDefaults[input.purpose]);
      return { purgeAfter };
    },

    /**
     * One sweep batch: claims up to `limit` due messages of the region (`FOR UPDATE SKIP LOCKED`, so
     * sweepers never collide), deletes their workflow histories and personal rows, keeps the
     * redacted billing record, and audits each purge. Then the backstop: up to `limit` messages
     * whose workflows ended without finishing are purged at once, whatever their due date. Returns
     * how many due messages it purged (the sweeper's pace) and how many ended ones.
     */
    async purgeDueMessages(
      input: PurgeDueMessagesInput,
    ): Promise<{ purged: number; endedUnfinished: number }> {
      assertRegion(residency, input.region);
      const purged = await withTransaction(db, async (tx) => {
        const ids = await claimDuePurges(tx, input.region, new Date(input.now), input.limit);
        return purger.purge(tx, ids, 'retention');
      });
      const tombstonesDropped =
        tombstoneHorizonMs === undefined
          ? 0
          : await dropExpiredTombstones(db, new Date(input.now), tombstoneHorizonMs);
      if (tombstonesDropped) log.info({ tombstonesDropped }, 'expired erasure tombstones dropped');
      const ended = await endedUnfinished(input.limit);
      const endedUnfinishedPurged = ended.length ? await purger.purgeEndedUnfinished(ended) : 0;
      if (purged || endedUnfinishedPurged)
        log.info(
          { region: input.region, purged, endedUnfinished: endedUnfinishedPurged },
          'retention purge',
        );
      return { purged, endedUnfinished: endedUnfinishedPurged };
    },
  };
}
