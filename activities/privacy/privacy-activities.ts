/**
 * Retention, purge, suppression and erasure activities. They run on the message's region task queue
 * (the workflows that call them are started there): a purge touches personal data.
 */
import { assertRegion, type Residency } from '../residency';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Pool, PoolClient } from 'pg';
import type { Logger } from 'pino';
import type { SubscriberTokens } from '../../encryption/subscriber-token';
import { appendAudit, appendAuditBatch } from '../../db/audit';
import {
  claimDuePurges,
  isSuppressed,
  purgeMessageRows,
  setPurgeAfter,
  type RetentionDefaults,
} from '../../db/privacy';
import {
  dropExpiredTombstones,
  endIntake,
  messagesInIntake,
  subjectMessageIds,
} from '../../db/erasures';
import { MessageStatus } from '../../domain/statuses';
import type { Purpose } from '../../domain/purposes';
import type { Region } from '../../domain/regions';

export interface CheckSuppressionInput {
  tenant: string;
  purpose: Purpose;
  /** The message whose recipient is checked (its tokens are read from PostgreSQL: the workflow holds none). */
  messageId?: string;
  /** The recipient's token, as workflows started before tokens left Temporal pass it. */
  subscriberToken?: string;
}

/** Whose data an erasure removes: its subject's tokens are read from its `erasures` row. */
export interface SubjectOfErasure {
  erasureId: string;
  tenant: string;
  /** The subject's token, as erasures started before tokens left Temporal pass it. */
  subscriberToken?: string;
}

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

export interface EraseMessagesInput {
  erasureId: string;
  messageIds: string[];
}

/** gRPC NOT_FOUND: the workflow execution (or its history) is already gone. */
const GRPC_NOT_FOUND = 5;

/**
 * What an erasure asks of running message workflows. The composition root builds it from the
 * workflows' own signal and query definitions (workers/message-workflows.ts), so activities never
 * import workflow code.
 */
export interface MessageWorkflows {
  /** Sends the `cancel` signal; rejects with `WorkflowNotFoundError` when the workflow is gone. */
  cancel(workflowId: string, reason: string): Promise<void>;
  /** The message's current status (the `status` query). */
  status(workflowId: string): Promise<MessageStatus>;
}

/** What the privacy activities need: PostgreSQL, a Temporal client (history deletion), the message workflows (cancel, status), the retention defaults. */
export interface PrivacyActivityDeps {
  db: Pool;
  temporal: Client;
  messages: MessageWorkflows;
  log: Logger;
  retentionDefaults: RetentionDefaults;
  otpExemptDefault: boolean;
  /** The worker's region and identity: a sweep of another region is refused (WRONG_REGION). */
  residency?: Residency;
  /** The recipient's tokens by message id (suppression). */
  tokens: Pick<SubscriberTokens, 'ofMessage'>;
  /**
   * How long erasure tombstones are kept (ms; domain `TOMBSTONE_HORIZON_MS` plus the stuck-after
   * allowance): each sweep drops older ones of completed erasures. Unset: tombstones are kept.
   */
  tombstoneHorizonMs?: number;
}

async function inTransaction<T>(db: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  try {
    await client.query('begin');
    const out = await fn(client);
    await client.query('commit');
    return out;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Activities of retention, purge, opt-out suppression and erasure. */
export function createPrivacyActivities({
  db,
  temporal,
  messages,
  log,
  retentionDefaults,
  otpExemptDefault,
  residency,
  tokens,
  tombstoneHorizonMs,
}: PrivacyActivityDeps) {
  /** The erased subject's live tokens, kept with the erasure (the workflow input holds none). */
  async function subjectTokens(input: SubjectOfErasure): Promise<string[]> {
    if (input.subscriberToken) return [input.subscriberToken];
    const { rows } = await db.query<{ subject_tokens: string[] | null }>(
      'select subject_tokens from erasures where id = $1 and tenant = $2',
      [input.erasureId, input.tenant],
    );
    return rows[0]?.subject_tokens ?? [];
  }

  /** Deletes a message workflow's history (terminating it if it still runs). Idempotent: already gone is fine. */
  async function deleteHistory(workflowId: string): Promise<void> {
    try {
      await temporal.workflowService.deleteWorkflowExecution({
        namespace: temporal.options.namespace,
        workflowExecution: { workflowId },
      });
    } catch (err) {
      if ((err as { code?: number }).code !== GRPC_NOT_FOUND) throw err;
    }
  }

  /**
   * The purge of some messages, in one transaction: histories first (a failure rolls the rows back
   * and the retry repeats it all), then the rows (and the outbox row and intake mark of a message
   * that ended before tokenize), then one audit entry per message purged now.
   */
  async function purge(
    client: PoolClient,
    messageIds: readonly string[],
    reason: 'retention' | 'erasure',
    context: { erasureId?: string; ended?: 'unfinished' } = {},
  ): Promise<number> {
    for (const id of messageIds) {
      await deleteHistory(id);
      Context.current().heartbeat();
    }
    const beforeTokenize = await endIntake(client, messageIds);
    // A message that ended before tokenize has its status row too (written at admission): counted
    // and audited once, as purged before tokenize.
    const early = new Set(beforeTokenize.map((m) => m.id));
    const purged = (await purgeMessageRows(client, messageIds, reason)).filter(
      (m) => !early.has(m.id),
    );
    const detail = { reason, ...context };
    await appendAuditBatch(client, [
      ...purged.map((m) => ({
        actor: 'system:worker',
        tenant: m.tenant,
        action: 'message.purged',
        subject: m.id,
        detail,
      })),
      ...beforeTokenize.map((m) => ({
        actor: 'system:worker',
        tenant: m.tenant,
        action: 'message.purged',
        subject: m.id,
        detail: { ...detail, stage: 'before_tokenize' },
      })),
    ]);
    return purged.length + beforeTokenize.length;
  }

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
    /** Step 2 of a message: is the subscriber on the tenant's suppression list (otp exempt by tenant policy)? */
    async checkSuppression(input: CheckSuppressionInput): Promise<{ suppressed: boolean }> {
      const subscriberTokens = input.messageId
        ? ((await tokens.ofMessage(input.messageId))?.live ?? [])
        : input.subscriberToken
          ? [input.subscriberToken]
          : [];
      return {
        suppressed: await isSuppressed(db, {
          tenant: input.tenant,
          purpose: input.purpose,
          subscriberTokens,
          otpExemptDefault,
        }),
      };
    },

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
      const purged = await inTransaction(db, async (client) => {
        const ids = await claimDuePurges(client, input.region, new Date(input.now), input.limit);
        return purge(client, ids, 'retention');
      });
      const tombstonesDropped =
        tombstoneHorizonMs === undefined
          ? 0
          : await dropExpiredTombstones(db, new Date(input.now), tombstoneHorizonMs);
      if (tombstonesDropped) log.info({ tombstonesDropped }, 'expired erasure tombstones dropped');
      const ended = await endedUnfinished(input.limit);
      const endedUnfinishedPurged = ended.length
        ? await inTransaction(db, (client) =>
            purge(client, ended, 'retention', { ended: 'unfinished' }),
          )
        : 0;
      if (purged || endedUnfinishedPurged)
        log.info(
          { region: input.region, purged, endedUnfinished: endedUnfinishedPurged },
          'retention purge',
        );
      return { purged, endedUnfinished: endedUnfinishedPurged };
    },

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

    /**
     * How many of the tenant's messages accepted before the erasure are still in intake (their
     * subscriber unknown until tokenize): waiting in the outbox, or started and not tokenized yet.
     * Those whose workflow ended before tokenize are purged now (only their history held data) and
     * stop counting. Records the count on the erasure (`messagesPending`).
     */
    async settleErasureIntake(input: { erasureId: string }): Promise<{ pending: number }> {
      const ended: string[] = [];
      let pending = 0;
      for (const m of await messagesInIntake(db, input.erasureId, 1000)) {
        Context.current().heartbeat();
        if (m.queued) {
          pending++;
          continue;
        }
        try {
          const { status } = await temporal.workflow.getHandle(m.id).describe();
          if (status.name === 'RUNNING') {
            pending++;
            continue;
          }
        } catch (err) {
          if ((err as Error).name !== 'WorkflowNotFoundError') throw err;
        }
        ended.push(m.id);
      }
      if (ended.length)
        await inTransaction(db, (client) =>
          purge(client, ended, 'retention', { ended: 'unfinished' }),
        );
      await db.query(`update erasures set messages_pending = $2 where id = $1`, [
        input.erasureId,
        pending,
      ]);
      return { pending };
    },

    /** Sends the cancel signal to those of the messages whose workflow still runs; returns how many it reached. */
    async cancelMessages(input: EraseMessagesInput): Promise<{ signalled: number }> {
      let signalled = 0;
      for (const id of input.messageIds) {
        try {
          await messages.cancel(id, 'erasure');
          signalled++;
        } catch (err) {
          if ((err as Error).name !== 'WorkflowNotFoundError') throw err;
        }
        Context.current().heartbeat();
      }
      return { signalled };
    },

    /**
     * Waits (polling, heartbeating) until none of the messages' workflows runs any more, or
     * `timeoutSeconds` passed. Messages already submitted are not waited for: they ignore the cancel
     * and wait for their receipt; the purge's history deletion ends them.
     */
    async waitForMessagesToClose(
      input: EraseMessagesInput & { timeoutSeconds: number },
    ): Promise<{ stillRunning: number }> {
      const deadline = Date.now() + input.timeoutSeconds * 1000;
      let running = [...input.messageIds];
      for (;;) {
        const next: string[] = [];
        for (const id of running) {
          try {
            const handle = temporal.workflow.getHandle(id);
            if ((await handle.describe()).status.name !== 'RUNNING') continue;
            // Submitted: the cancel signal is ignored, the workflow waits for its receipt.
            if ((await messages.status(id)) !== MessageStatus.SUBMITTED) next.push(id);
          } catch (err) {
            if ((err as Error).name !== 'WorkflowNotFoundError') throw err;
          }
        }
        running = next;
        Context.current().heartbeat();
        if (running.length === 0 || Date.now() >= deadline) return { stillRunning: running.length };
        await new Promise((r) => setTimeout(r, 250));
      }
    },

    /** Purges the messages now, for an erasure (running workflows are ended by the history deletion). */
    async eraseMessages(input: EraseMessagesInput): Promise<{ purged: number }> {
      const purged = await inTransaction(db, async (client) => {
        const n = await purge(client, input.messageIds, 'erasure', { erasureId: input.erasureId });
        await client.query(
          `update erasures set messages_purged = messages_purged + $2 where id = $1`,
          [input.erasureId, n],
        );
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
      await inTransaction(db, async (client) => {
        const { rows } = await client.query<{ messages_purged: number }>(
          `update erasures set status = 'completed', completed_at = now(), subject_tokens = null
            where id = $1 and status = 'running' returning messages_purged`,
          [input.erasureId],
        );
        if (rows[0]) {
          await appendAudit(client, {
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

export type PrivacyActivities = ReturnType<typeof createPrivacyActivities>;
