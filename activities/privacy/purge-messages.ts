/**
 * The purge of messages, shared by the retention sweep and erasures: a message's workflow history,
 * then its personal rows, then one audit entry per message purged.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Pool, PoolClient } from 'pg';
import { appendAuditBatch } from '../../db/audit';
import { endIntake } from '../../db/erasures';
import { purgeMessageRows } from '../../db/privacy';
import { withTransaction } from '../../db/transaction';

/** gRPC NOT_FOUND: the workflow execution (or its history) is already gone. */
const GRPC_NOT_FOUND = 5;

/** Why messages are purged, and what the audit entries say besides. */
export type PurgeReason = 'retention' | 'erasure';
export interface PurgeContext {
  erasureId?: string;
  ended?: 'unfinished';
}

/** Purges messages; both return how many were purged now (a message purged before counts no more). */
export interface Purger {
  /**
   * The purge of some messages, inside the caller's transaction: histories first (a failure rolls
   * the rows back and the retry repeats it all), then the rows (and the outbox row and intake mark
   * of a message that ended before tokenize), then one audit entry per message purged now.
   */
  purge(
    tx: PoolClient,
    messageIds: readonly string[],
    reason: PurgeReason,
    context?: PurgeContext,
  ): Promise<number>;
  /** Purges, in a transaction of its own, messages whose workflows ended without finishing. */
  purgeEndedUnfinished(messageIds: readonly string[]): Promise<number>;
}

/** The purge over PostgreSQL and the Temporal client that deletes histories. */
export function createPurger({ db, temporal }: { db: Pool; temporal: Client }): Purger {
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

  async function purge(
    tx: PoolClient,
    messageIds: readonly string[],
    reason: PurgeReason,
    context: PurgeContext = {},
  ): Promise<number> {
    for (const id of messageIds) {
      await deleteHistory(id);
      Context.current().heartbeat();
    }
    const beforeTokenize = await endIntake(tx, messageIds);
    // A message that ended before tokenize has its status row too (written at admission): counted
    // and audited once, as purged before tokenize.
    const early = new Set(beforeTokenize.map((m) => m.id));
    const purged = (await purgeMessageRows(tx, messageIds, reason)).filter((m) => !early.has(m.id));
    const detail = { reason, ...context };
    await appendAuditBatch(tx, [
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

  return {
    purge,
    purgeEndedUnfinished: (messageIds) =>
      withTransaction(db, (tx) => purge(tx, messageIds, 'retention', { ended: 'unfinished' })),
  };
}
