/**
 * The messages an erasure finds still moving: those in intake (subscriber unknown until tokenize)
 * and those whose workflows still run, which it cancels and waits for before the purge.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { messagesInIntake } from '../../db/erasures';
import { MessageStatus } from '../../domain/statuses';
import type { EraseMessagesInput } from './erase-messages';
import type { Purger } from './purge-messages';

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

/** Whether a workflow runs; a workflow Temporal no longer knows does not. */
async function isRunning(temporal: Client, workflowId: string): Promise<boolean> {
  try {
    return (await temporal.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
  } catch (err) {
    if ((err as Error).name !== 'WorkflowNotFoundError') throw err;
    return false;
  }
}

/** The in-flight activities over PostgreSQL, the Temporal client, the message workflows and the purge. */
export function createInFlightActivities({
  db,
  temporal,
  messages,
  purger,
}: {
  db: Pool;
  temporal: Client;
  messages: MessageWorkflows;
  purger: Purger;
}) {
  return {
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
        if (m.queued || (await isRunning(temporal, m.id))) pending++;
        else ended.push(m.id);
      }
      if (ended.length) await purger.purgeEndedUnfinished(ended);
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
            if (!(await isRunning(temporal, id))) continue;
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
  };
}
