import * as smpp from 'smpp';
import { SmppMessageState, smppStatusLabel } from '../../errors';
import { EsmClass } from '../../smpp/fields';
import type { SmscState } from './smsc-state';
import type { PendingReceipt, ReceiptStat, ReceivedPart, SimSession } from './smsc-types';

const STAT_STATE: Record<ReceiptStat, number> = {
  DELIVRD: SmppMessageState.DELIVERED,
  UNDELIV: SmppMessageState.UNDELIVERABLE,
  EXPIRED: SmppMessageState.EXPIRED,
  REJECTD: SmppMessageState.REJECTED,
  UNKNOWN: SmppMessageState.UNKNOWN,
  DELETED: SmppMessageState.DELETED,
  ACCEPTD: SmppMessageState.ACCEPTED,
};

const RECEIPT_RETRIES = 3;

/** The raw addresses of a submit_sm, swapped into its receipt. */
export interface SubmitAddresses {
  srcTon: number;
  srcNpi: number;
  src: string;
  dstTon: number;
  dstNpi: number;
  dst: string;
}

function smppDate(d: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return (
    two(d.getUTCFullYear() % 100) +
    two(d.getUTCMonth() + 1) +
    two(d.getUTCDate()) +
    two(d.getUTCHours()) +
    two(d.getUTCMinutes())
  );
}

/**
 * Sends a receipt to its session (or another receiver of the same system_id); queues it while none
 * is bound, and tries again (up to three times in all) when the receiver does not acknowledge it.
 */
export function deliverReceipt(state: SmscState, r: PendingReceipt): void {
  if (state.closing) return;
  const target = state.pickReceiver(r.systemId, r.preferredSession);
  if (!target) {
    state.queuedReceipts.push(r);
    return;
  }
  r.attempts++;
  state.stats.receiptsSent++;
  void state.request(target, new smpp.PDU('deliver_sm', r.fields)).then((resp) => {
    if (state.closing) return;
    if (resp && resp.command_status === 0) {
      state.stats.receiptsAcked++;
      return;
    }
    state.log.info(
      {
        commandStatus: resp ? smppStatusLabel(resp.command_status) : 'timeout',
        attempts: r.attempts,
      },
      'receipt not acknowledged',
    );
    if (r.attempts < RECEIPT_RETRIES) state.later(200, () => deliverReceipt(state, r));
  });
}

/** Delivers the receipts queued for `systemId` to a session that just bound as a receiver. */
export function flushQueuedReceipts(state: SmscState, systemId: string): void {
  const mine = state.queuedReceipts.filter((r) => r.systemId === systemId);
  for (const r of mine) {
    state.queuedReceipts.splice(state.queuedReceipts.indexOf(r), 1);
    deliverReceipt(state, r);
  }
}

/**
 * After `receiptDelayMs`, sends the receipt of an accepted part when it asked for one
 * (esm_class 0x04, receipted_message_id and message_state TLVs, and the `id:… stat:…` text).
 */
export function scheduleReceipt(
  state: SmscState,
  s: SimSession,
  part: ReceivedPart,
  raw: SubmitAddresses,
): void {
  const b = state.behaviour;
  if (b.dropReceipts || (part.registeredDelivery & 0x03) === 0) return;
  const submitDate = smppDate(new Date(part.receivedAt));
  state.later(b.receiptDelayMs, () => {
    const stat = state.behaviour.receiptOutcome(part.destination);
    const err =
      stat === 'DELIVRD' || stat === 'ACCEPTD'
        ? '000'
        : state.behaviour.receiptErrorCode(part.destination);
    const dlvrd = stat === 'DELIVRD' ? '001' : '000';
    const text =
      `id:${part.messageId} sub:001 dlvrd:${dlvrd} submit date:${submitDate} ` +
      `done date:${smppDate(new Date())} stat:${stat} err:${err} text:`;
    deliverReceipt(state, {
      systemId: s.systemId,
      preferredSession: s.id,
      attempts: 0,
      fields: {
        source_addr_ton: raw.dstTon,
        source_addr_npi: raw.dstNpi,
        source_addr: raw.dst,
        dest_addr_ton: raw.srcTon,
        dest_addr_npi: raw.srcNpi,
        destination_addr: raw.src,
        esm_class: EsmClass.DELIVERY_RECEIPT,
        data_coding: 0,
        short_message: Buffer.from(text, 'latin1'),
        receipted_message_id: part.messageId,
        message_state: STAT_STATE[stat],
      },
    });
  });
}
