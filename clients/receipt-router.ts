import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Pool } from 'pg';
import type { DeliveryReceipt } from '../carriers/types';
import { deliveryReceiptSignal } from '../workflows/definitions';

/** Thrown when a receipt names a carrier message id we never journaled (yet): the carrier should redeliver it. */
export class UnknownReceiptError extends Error {
  constructor(readonly carrier: string) {
    super(`${carrier}: receipt for an unknown carrier message id`);
    this.name = 'UnknownReceiptError';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Routes a carrier's delivery receipt to its message's workflow: the dispatch journal maps
 * (carrier, carrier message id) to the message id, which is the workflow id. Used by the SMPP
 * sessions in the workers and by the API's HTTP receipt webhook.
 *
 * A receipt can overtake the journal write of its own submit (the SMSC answers submit_sm_resp and
 * sends deliver_sm at once), so an unknown id is looked up again for `graceMs` before giving up
 * with UnknownReceiptError, which makes the carrier redeliver.
 */
export function createReceiptRouter({
  db,
  temporal,
  log,
  graceMs = 3000,
}: {
  db: Pool;
  temporal: Client;
  log: Logger;
  graceMs?: number;
}) {
  return async function routeReceipt(carrier: string, receipt: DeliveryReceipt): Promise<void> {
    const deadline = Date.now() + graceMs;
    for (;;) {
      const { rows } = await db.query<{ message_id: string }>(
        `update dispatch_journal set receipt_status = $3, receipt_at = now()
          where carrier = $1 and carrier_message_id = $2
          returning message_id`,
        [carrier, receipt.carrierMessageId, receipt.status],
      );
      const messageId = rows[0]?.message_id;
      if (messageId) {
        try {
          await temporal.workflow.getHandle(messageId).signal(deliveryReceiptSignal, {
            carrier,
            carrierMessageId: receipt.carrierMessageId,
            status: receipt.status,
            errorCode: receipt.errorCode,
            doneAt: receipt.doneAt,
          });
        } catch (err) {
          // The workflow already finished (receipt timeout, or a duplicate receipt): nothing waits for it.
          if ((err as Error).name !== 'WorkflowNotFoundError') throw err;
          log.info({ messageId, carrier }, 'receipt for a closed message ignored');
        }
        return;
      }
      if (Date.now() > deadline) throw new UnknownReceiptError(carrier);
      await sleep(100);
    }
  };
}

export type ReceiptRouter = ReturnType<typeof createReceiptRouter>;
