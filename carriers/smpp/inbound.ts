import type { Logger } from 'pino';
import { decodeSmppPart, reassemble, type DecodedPart } from '../../domain/encoding';
import { SmppStatus, parseReceiptText, statusFromMessageState } from '../errors';
import type { DeliveryReceipt } from '../types';
import { EsmClass, fromSmppAddress } from './fields';
import { Tlv, parseRawSm, tlvString, type RawSm } from './raw';

/** A mobile-originated message (plaintext: hand it straight to the vault, never log it). */
export interface MobileOriginated {
  /** Sender, `+E.164` when the SMSC marks it international. */
  from: string;
  /** Our number / short code it was sent to. */
  to: string;
  text: string;
}

/** Options of {@link DeliverSmHandler}. */
export interface DeliverSmHandlerOptions {
  /** Already a child logger naming the carrier. */
  log: Logger;
  /** How long parts of a concatenated MO wait for their siblings. */
  moReassemblyTimeoutMs: number;
  /** Called for every delivery receipt; a rejection makes the SMSC deliver it again later. */
  onReceipt: (receipt: DeliveryReceipt) => void | Promise<void>;
  /** Called for every (reassembled) MO message; same rule as `onReceipt`. */
  onMobileOriginated?: (mo: MobileOriginated) => void | Promise<void>;
}

interface MoBuffer {
  parts: Map<number, DecodedPart>;
  timer: NodeJS.Timeout;
}

/**
 * Everything the SMSC delivers to us: a deliver_sm with esm_class receipt type (0x04) or a
 * receipted_message_id TLV is a receipt (TLVs preferred, the `id:… stat:…` text as fallback); any
 * other is an MO message, decoded by data_coding and reassembled when concatenated. Works on the
 * exact octets of the PDU, so it needs no socket. Logs ids, counts and statuses, never numbers or text.
 */
export class DeliverSmHandler {
  private readonly moBuffers = new Map<string, MoBuffer>();
  private readonly log: Logger;

  constructor(private readonly options: DeliverSmHandlerOptions) {
    this.log = options.log;
  }

  /**
   * Handles one deliver_sm body (after command_length) and resolves to the command_status to
   * answer: 0 when handled, ESME_RX_P_APPN when unreadable (never worth a resend), ESME_RX_T_APPN
   * when the handler failed (so the SMSC delivers it again). Never rejects.
   */
  async answer(body: Buffer | undefined): Promise<number> {
    let sm: RawSm;
    try {
      if (!body) throw new RangeError('deliver_sm octets not captured');
      sm = parseRawSm(body);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'smpp deliver_sm unreadable');
      return SmppStatus.ESME_RX_P_APPN;
    }
    const isReceipt =
      (sm.esmClass & EsmClass.DELIVERY_RECEIPT) !== 0 || sm.tlvs.has(Tlv.RECEIPTED_MESSAGE_ID);
    try {
      return isReceipt ? await this.handleReceipt(sm) : await this.handleMo(sm);
    } catch (err) {
      this.log.warn(
        { err: (err as Error).name, receipt: isReceipt },
        'smpp deliver_sm handler failed',
      );
      return SmppStatus.ESME_RX_T_APPN;
    }
  }

  /** Drops incomplete concatenated MOs and their timers. */
  close(): void {
    for (const b of this.moBuffers.values()) clearTimeout(b.timer);
    this.moBuffers.clear();
  }

  private async handleReceipt(sm: RawSm): Promise<number> {
    const receipt = readReceipt(sm);
    if (!receipt) {
      // Unusable; answering an error would only make the SMSC resend it forever.
      this.log.warn('smpp receipt without message id dropped');
      return 0;
    }
    this.log.debug(
      { carrierMessageId: receipt.carrierMessageId, status: receipt.status },
      'receipt',
    );
    await this.options.onReceipt(receipt);
    return 0;
  }

  private async handleMo(sm: RawSm): Promise<number> {
    const { onMobileOriginated } = this.options;
    if (!onMobileOriginated) {
      this.log.info('smpp MO received but no handler configured; acknowledged and dropped');
      return 0;
    }
    const payload = sm.shortMessage.length > 0 ? sm.shortMessage : sm.tlvs.get(Tlv.MESSAGE_PAYLOAD);
    let part: DecodedPart;
    try {
      part = decodeSmppPart(payload ?? Buffer.alloc(0), sm.dataCoding, (sm.esmClass & 0x40) !== 0);
    } catch (err) {
      this.log.warn(
        { err: (err as Error).message, dataCoding: sm.dataCoding },
        'smpp MO undecodable',
      );
      return SmppStatus.ESME_RX_P_APPN;
    }
    const from = fromSmppAddress(sm.sourceAddrTon, sm.sourceAddr);
    const to = fromSmppAddress(sm.destAddrTon, sm.destinationAddr);
    if (!part.udh || part.udh.total <= 1) {
      await onMobileOriginated({ from, to, text: part.text });
      return 0;
    }
    const key = `${from}\u0000${to}\u0000${part.udh.ref}\u0000${part.udh.total}`;
    const buffer = this.moBuffer(key);
    buffer.parts.set(part.udh.seq, part);
    if (buffer.parts.size < part.udh.total) return 0;
    const text = reassemble([...buffer.parts.values()]);
    try {
      await onMobileOriginated({ from, to, text });
    } catch (err) {
      // Keep the siblings; the SMSC resends this last part and completes the message again.
      buffer.parts.delete(part.udh.seq);
      throw err;
    }
    clearTimeout(buffer.timer);
    this.moBuffers.delete(key);
    return 0;
  }

  /** The parts received so far of one concatenated MO; dropped when incomplete after the timeout. */
  private moBuffer(key: string): MoBuffer {
    let buffer = this.moBuffers.get(key);
    if (!buffer) {
      const timer = setTimeout(() => {
        const expired = this.moBuffers.get(key);
        this.moBuffers.delete(key);
        this.log.warn({ parts: expired?.parts.size }, 'smpp concatenated MO incomplete; dropped');
      }, this.options.moReassemblyTimeoutMs);
      buffer = { parts: new Map(), timer };
      this.moBuffers.set(key, buffer);
    }
    return buffer;
  }
}

/** The receipt a deliver_sm carries (TLVs first, then its text), or undefined when it names no message. */
function readReceipt(sm: RawSm): DeliveryReceipt | undefined {
  const payload = sm.shortMessage.length > 0 ? sm.shortMessage : sm.tlvs.get(Tlv.MESSAGE_PAYLOAD);
  const text = payload
    ? sm.dataCoding === 8
      ? decodeSmppPart(payload, 8, false).text
      : payload.toString('latin1')
    : '';
  let fromText: DeliveryReceipt | undefined;
  try {
    fromText = parseReceiptText(text);
  } catch {
    fromText = undefined;
  }
  const receiptedId = tlvString(sm.tlvs.get(Tlv.RECEIPTED_MESSAGE_ID));
  const state = sm.tlvs.get(Tlv.MESSAGE_STATE)?.[0];
  let receipt: DeliveryReceipt;
  if (receiptedId) {
    receipt = {
      carrierMessageId: receiptedId,
      status: state !== undefined ? statusFromMessageState(state) : (fromText?.status ?? 'unknown'),
    };
    if (fromText?.errorCode !== undefined) receipt.errorCode = fromText.errorCode;
    if (fromText?.doneAt !== undefined) receipt.doneAt = fromText.doneAt;
  } else if (fromText) {
    receipt = fromText;
  } else {
    return undefined;
  }
  const networkError = sm.tlvs.get(Tlv.NETWORK_ERROR_CODE);
  if (receipt.errorCode === undefined && networkError && networkError.length === 3) {
    receipt.errorCode = `${networkError[0]}:${networkError.readUInt16BE(1)}`;
  }
  return receipt;
}
