import type { RegionalClients } from '../clients/temporal';
import type { Region } from '../domain/regions';
import type { Logger } from 'pino';
import type { Pool, PoolClient } from 'pg';
import type { DeliveryReceipt } from '../carriers/types';
import { deliveryReceiptSignal } from '../workflows/definitions';
import { withTransaction } from '../db/transaction';

/** Thrown when a receipt names a carrier message id we never journaled (yet): the carrier should redeliver it. */
export class UnknownReceiptError extends Error {
  constructor(readonly carrier: string) {
    super(`${carrier}: receipt for an unknown carrier message id`);
    this.name = 'UnknownReceiptError';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One receipt as the journal holds it. */
interface JournaledReceipt {
  messageId: string;
  /** The message's region: its signal is encoded under the region's codec key. */
  region: Region;
  carrier: string;
  carrierMessageId: string;
  status: DeliveryReceipt['status'];
  errorCode?: string;
  doneAt?: string;
  /**
   * The journal row's `receipt_at` as PostgreSQL prints it (microseconds; a JS Date would round
   * them off and never match again): which version of the row the signal carried.
   */
  receiptAt: string;
}

/**
 * Signals one journaled receipt to its message's workflow and marks it signalled (unless a newer
 * receipt replaced it meanwhile). A closed workflow counts as signalled: nothing waits for it.
 * The workflow ignores a receipt it already holds, so signalling twice is harmless.
 */
async function signalJournaled(
  db: Pool | PoolClient,
  temporal: RegionalClients,
  r: JournaledReceipt,
): Promise<void> {
  try {
    await temporal
      .forRegion(r.region)
      .workflow.getHandle(r.messageId)
      .signal(deliveryReceiptSignal, {
        carrier: r.carrier,
        carrierMessageId: r.carrierMessageId,
        status: r.status,
        ...(r.errorCode !== undefined ? { errorCode: r.errorCode } : {}),
        ...(r.doneAt !== undefined ? { doneAt: r.doneAt } : {}),
      });
  } catch (err) {
    // The workflow already finished (receipt timeout, or a duplicate receipt): nothing waits for it.
    if ((err as Error).name !== 'WorkflowNotFoundError') throw err;
  }
  await db.query(
    `update dispatch_journal set receipt_signalled_at = now()
      where carrier = $1 and carrier_message_id = $2 and receipt_at = $3::timestamptz`,
    [r.carrier, r.carrierMessageId, r.receiptAt],
  );
}

/**
 * Routes a carrier's delivery receipt to its message's workflow: the dispatch journal maps
 * (carrier, carrier message id) to the message id, which is the workflow id. Used by the SMPP
 * sessions in the workers and by the API's HTTP receipt webhook.
 *
 * The journal is the source of truth: the receipt is written there in full first, and the promise
 * resolves once it is (so the carrier's acknowledgement means "stored"); the signal to the workflow
 * follows, and a signal that fails or is cut by a crash is sent again by the reconciler
 * ({@link createReceiptReconciler}). A late intermediate receipt never overwrites a final one.
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
  temporal: RegionalClients;
  log: Logger;
  graceMs?: number;
}) {
  return async function routeReceipt(carrier: string, receipt: DeliveryReceipt): Promise<void> {
    const deadline = Date.now() + graceMs;
    for (;;) {
      const { rows } = await db.query<{
        message_id: string;
        region: Region | null;
        receipt_status: DeliveryReceipt['status'];
        receipt_error_code: string | null;
        receipt_done_at: Date | null;
        receipt_at: string;
      }>(
        `update dispatch_journal j
            set receipt_status = case when k.keep then j.receipt_status else $3 end,
                receipt_error_code = case when k.keep then j.receipt_error_code else $4 end,
                receipt_done_at = case when k.keep then j.receipt_done_at else $5::timestamptz end,
                receipt_at = case when k.keep then j.receipt_at else now() end,
                receipt_signalled_at = case when k.keep then j.receipt_signalled_at end
           from (select $3 = 'accepted' and coalesce(receipt_status, 'accepted') <> 'accepted' as keep
                   from dispatch_journal where carrier = $1 and carrier_message_id = $2) k
          where j.carrier = $1 and j.carrier_message_id = $2
          returning j.message_id, (select m.region from messages m where m.id = j.message_id) as region,
                    j.receipt_status, j.receipt_error_code, j.receipt_done_at, j.receipt_at::text`,
        [
          carrier,
          receipt.carrierMessageId,
          receipt.status,
          receipt.errorCode ?? null,
          receipt.doneAt ?? null,
        ],
      );
      const row = rows[0];
      if (row) {
        const journaled: JournaledReceipt = {
          messageId: row.message_id,
          region: row.region ?? 'global',
          carrier,
          carrierMessageId: receipt.carrierMessageId,
          status: row.receipt_status,
          ...(row.receipt_error_code !== null ? { errorCode: row.receipt_error_code } : {}),
          ...(row.receipt_done_at !== null ? { doneAt: row.receipt_done_at.toISOString() } : {}),
          receiptAt: row.receipt_at,
        };
        // Stored: the carrier may have its acknowledgement now; the signal follows.
        signalJournaled(db, temporal, journaled).catch((err: Error) =>
          log.warn(
            { messageId: row.message_id, carrier, error: err.name },
            'receipt signal failed; the reconciler sends it again',
          ),
        );
        return;
      }
      if (Date.now() > deadline) throw new UnknownReceiptError(carrier);
      await sleep(100);
    }
  };
}

export type ReceiptRouter = ReturnType<typeof createReceiptRouter>;

/**
 * Sends every journaled receipt whose signal was not confirmed: lost in a crash between the journal
 * write and the signal, or failed while Temporal was unreachable. Receipts younger than `graceMs`
 * are left to the router that is signalling them. Batches are claimed with `FOR UPDATE SKIP
 * LOCKED`, so several workers share the work without signalling one receipt twice at once.
 * Idempotent: the workflow ignores a receipt it already holds.
 */
export function createReceiptReconciler({
  db,
  temporal,
  log,
  graceMs = 5_000,
  batchSize = 100,
  maxBatches = 10,
}: {
  db: Pool;
  temporal: RegionalClients;
  log: Logger;
  graceMs?: number;
  batchSize?: number;
  maxBatches?: number;
}) {
  /**
   * One pass: signals unsignalled receipts, `batchSize` at a time, until none is left or
   * `maxBatches` were sent (the next pass goes on); returns how many.
   */
  async function reconcileOnce(): Promise<number> {
    let total = 0;
    for (let batch = 0; batch < maxBatches; batch++) {
      const claimed = await withTransaction(db, async (tx) => {
        const { rows } = await tx.query<{
          message_id: string;
          region: Region | null;
          carrier: string;
          carrier_message_id: string;
          receipt_status: DeliveryReceipt['status'];
          receipt_error_code: string | null;
          receipt_done_at: Date | null;
          receipt_at: string;
        }>(
          `select message_id, (select m.region from messages m where m.id = dispatch_journal.message_id) as region,
                carrier, carrier_message_id, receipt_status, receipt_error_code, receipt_done_at,
                receipt_at::text
             from dispatch_journal
            where receipt_status is not null and receipt_signalled_at is null
              and receipt_at < now() - make_interval(secs => $1::float8 / 1000)
            order by receipt_at
            limit $2
            for update skip locked`,
          [graceMs, batchSize],
        );
        for (const r of rows) {
          await signalJournaled(tx, temporal, {
            messageId: r.message_id,
            region: r.region ?? 'global',
            carrier: r.carrier,
            carrierMessageId: r.carrier_message_id,
            status: r.receipt_status,
            ...(r.receipt_error_code !== null ? { errorCode: r.receipt_error_code } : {}),
            ...(r.receipt_done_at !== null ? { doneAt: r.receipt_done_at.toISOString() } : {}),
            receiptAt: r.receipt_at,
          });
        }
        return rows.length;
      });
      total += claimed;
      if (claimed < batchSize) break;
    }
    if (total > 0) log.info({ receipts: total }, 'journaled receipts signalled by the reconciler');
    return total;
  }

  return {
    reconcileOnce,
    /**
     * Runs a pass now and then every `intervalMs` (never two at once) until the returned stop
     * function is called; a failed pass is logged and the next one tries again.
     */
    start(intervalMs: number): () => Promise<void> {
      let stopped = false;
      let running: Promise<unknown> = Promise.resolve();
      let timer: NodeJS.Timeout | undefined;
      const tick = () => {
        running = reconcileOnce()
          .catch((err: Error) => log.warn({ error: err.name }, 'receipt reconciliation failed'))
          .finally(() => {
            if (!stopped) timer = setTimeout(tick, intervalMs);
          });
      };
      tick();
      return async () => {
        stopped = true;
        clearTimeout(timer);
        await running;
      };
    },
  };
}
