/**
 * Erasure of a subject's data at a tenant: find the subject's messages, purge them, forget its
 * sticky senders, count the progress and complete the erasure. The subject's tokens are kept with
 * the erasure (`erasures.subject_tokens`), never in the workflow.
 */
import type { Pool } from 'pg';
import { appendAudit } from '../../db/audit';
import { subjectMessageIds } from '../../db/erasures';
import { withTransaction } from '../../db/transaction';
import type { Purger } from './purge-messages';

/** Whose data an erasure removes: its subject's tokens are read from its `erasures` row. */
export interface SubjectOfErasure {
  erasureId: string;
  tenant: string;
  /** The subject's token, as erasures started before tokens left Temporal pass it. */
  subscriberToken?: string;
}

export interface EraseMessagesInput {
  erasureId: string;
  messageIds: string[];
}

/** The erasure activities over PostgreSQL and the purge. */
export function createErasureActivities({ db, purger }: { db: Pool; purger: Purger }) {
  /** The erased subject's live tokens, kept with the erasure (the workflow input holds none). */
  async function subjectTokens(input: SubjectOfErasure): Promise<string[]> {
    if (input.subscriberToken) return [input.subscriberToken];
    const { rows } = await db.query<{ subject_tokens: string[] | null }>(
      'select subject_tokens from erasures where id = $1 and tenant = $2',
      [input.erasureId, input.tenant],
    );
    return rows[0]?.subject_tokens ?? [];
  }

  return {
    /** A page of the subject's messages that still hold personal data (and those the erasure stopped). */
    async findSubjectMessages(input: SubjectOfErasure & { limit: number }): Promise<{
      messageIds: string[];
    }> {
      return {
        messageIds: await subjectMessageIds(
          db,
          input.tenant,
          await subjectTokens(input),
          input.limit,
          input.erasureId,
        ),
      };
    },

    /** Purges the messages now, for an erasure (running workflows are ended by the history deletion). */
    async eraseMessages(input: EraseMessagesInput): Promise<{ purged: number }> {
      const purged = await withTransaction(db, async (tx) => {
        const n = await purger.purge(tx, input.messageIds, 'erasure', {
          erasureId: input.erasureId,
        });
        await tx.query(`update erasures set messages_purged = messages_purged + $2 where id = $1`, [
          input.erasureId,
          n,
        ]);
        return n;
      });
      return { purged };
    },

    /** Forgets the subject's sticky sender assignments at the tenant (they are keyed by its token). */
    async forgetStickySenders(input: SubjectOfErasure): Promise<void> {
      await db.query(
        `delete from sticky_senders s using number_pools p
          where s.pool_id = p.id and p.tenant = $1 and s.subscriber_token = any($2)`,
        [input.tenant, await subjectTokens(input)],
      );
    },

    /** Adds to an erasure's counters (found, cancelled). */
    async recordErasureProgress(input: {
      erasureId: string;
      found: number;
      cancelled: number;
    }): Promise<void> {
      await db.query(
        `update erasures set messages_found = messages_found + $2,
                messages_cancelled = messages_cancelled + $3 where id = $1`,
        [input.erasureId, input.found, input.cancelled],
      );
    },

    /** Marks the erasure completed and audits it (once). */
    async completeErasure(input: { erasureId: string; tenant: string }): Promise<void> {
      await withTransaction(db, async (tx) => {
        const { rows } = await tx.query<{ messages_purged: number }>(
          `update erasures set status = 'completed', completed_at = now(), subject_tokens = null
            where id = $1 and status = 'running' returning messages_purged`,
          [input.erasureId],
        );
        if (rows[0]) {
          await appendAudit(tx, {
            actor: 'system:worker',
            tenant: input.tenant,
            action: 'erasure.completed',
            subject: input.erasureId,
            detail: { messagesPurged: rows[0].messages_purged },
          });
        }
      });
    },
  };
}
