/**
 * The messages an erasure finds still moving: those in intake (subscriber unknown until tokenize)
 * and those whose workflows still run, which it cancels and waits for before the purge.
 */
import { Context } from '@temporalio/activity';
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
  /**
   * Whether the workflow runs (a workflow Temporal no longer knows does not) and, if it does, its
   * indexed status (the `MessageStatus` search attribute). Read without decoding any payload: the
   * global worker's erasure reads other regions' messages, whose payloads it may not decrypt.
   */
  state(workflowId: string): Promise<{ running: boolean; status?: MessageStatus }>;
}

/** The in-flight activities over PostgreSQL, the message workflows and the purge. */
export function createInFlightActivities({
  db,
  messages,
  purger,
}: {
  db: Pool;
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
        if (m.queued || (await messages.state(m.id)).running) pending++;
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
          const { running, status } = await messages.state(id);
          // Submitted: the cancel signal is ignored, the workflow waits for its receipt. The search
          // attribute keeps `submitted` through a failover (`routed` is not indexed), as the
          // workflow keeps ignoring cancels once it has submitted.
          if (running && status !== MessageStatus.SUBMITTED) next.push(id);
        }
        running = next;
        Context.current().heartbeat();
        if (running.length === 0 || Date.now() >= deadline) return { stillRunning: running.length };
        await new Promise((r) => setTimeout(r, 250));
      }
    },
  };
}
