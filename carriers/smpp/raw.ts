import type { Socket } from 'node:net';

/**
 * Exact octets of received PDUs.
 *
 * `smpp` 0.5.x decodes `short_message` into text with its own (lossy) tables and drops the
 * octets, but we need them exactly (UDH, GSM escapes, UCS2) to decode with domain/encoding. The
 * library pulls each PDU from the socket with two `socket.read()` calls (4-octet length, then the
 * rest); Node emits `'data'` for every successful `read()` even while `'readable'` drives the
 * stream, so listening to `'data'` sees those exact chunks without changing the flow.
 */
export interface RawTap {
  /** The body (everything after command_length) of the PDU just parsed, when it matches. */
  take(commandId: number, sequenceNumber: number): Buffer | undefined;
}

/** Starts capturing PDU bodies read from `socket`; attach right after the session is created. */
export function attachRawTap(socket: Socket): RawTap {
  let last: Buffer | undefined;
  socket.on('data', (chunk: Buffer | string) => {
    // A body is at least 12 octets (command_id, status, sequence); length chunks are 4.
    if (Buffer.isBuffer(chunk) && chunk.length >= 12) last = chunk;
  });
  return {
    take(commandId, sequenceNumber) {
      const body = last;
      last = undefined;
      if (!body || body.readUInt32BE(0) !== commandId || body.readUInt32BE(8) !== sequenceNumber) {
        return undefined;
      }
      return body;
    },
  };
}

/** Mandatory parameters shared by submit_sm and deliver_sm (SMPP 3.4 §4.4.1 / §4.6.1). */
export interface RawSm {
  serviceType: string;
  sourceAddrTon: number;
  sourceAddrNpi: number;
  sourceAddr: string;
  destAddrTon: number;
  destAddrNpi: number;
  destinationAddr: string;
  esmClass: number;
  protocolId: number;
  priorityFlag: number;
  scheduleDeliveryTime: string;
  validityPeriod: string;
  registeredDelivery: number;
  replaceIfPresentFlag: number;
  dataCoding: number;
  smDefaultMsgId: number;
  shortMessage: Buffer;
  /** Optional parameters by tag. */
  tlvs: Map<number, Buffer>;
}

/** TLV tags we read. */
export const Tlv = {
  RECEIPTED_MESSAGE_ID: 0x001e,
  NETWORK_ERROR_CODE: 0x0423,
  MESSAGE_PAYLOAD: 0x0424,
  MESSAGE_STATE: 0x0427,
} as const;

/**
 * Parses a submit_sm / deliver_sm body as captured by {@link attachRawTap} (starting at
 * command_id).
 *
 * @throws RangeError when the body is truncated.
 */
export function parseRawSm(body: Buffer): RawSm {
  let offset = 12;
  const need = (n: number): void => {
    if (offset + n > body.length) throw new RangeError(`PDU truncated at offset ${offset}`);
  };
  const int8 = (): number => {
    need(1);
    return body.readUInt8(offset++);
  };
  const cstring = (): string => {
    const end = body.indexOf(0, offset);
    if (end < 0) throw new RangeError(`unterminated C-string at offset ${offset}`);
    const value = body.toString('latin1', offset, end);
    offset = end + 1;
    return value;
  };
  const serviceType = cstring();
  const sourceAddrTon = int8();
  const sourceAddrNpi = int8();
  const sourceAddr = cstring();
  const destAddrTon = int8();
  const destAddrNpi = int8();
  const destinationAddr = cstring();
  const esmClass = int8();
  const protocolId = int8();
  const priorityFlag = int8();
  const scheduleDeliveryTime = cstring();
  const validityPeriod = cstring();
  const registeredDelivery = int8();
  const replaceIfPresentFlag = int8();
  const dataCoding = int8();
  const smDefaultMsgId = int8();
  const smLength = int8();
  need(smLength);
  const shortMessage = Buffer.from(body.subarray(offset, offset + smLength));
  offset += smLength;
  const tlvs = new Map<number, Buffer>();
  while (offset + 4 <= body.length) {
    const tag = body.readUInt16BE(offset);
    const length = body.readUInt16BE(offset + 2);
    offset += 4;
    need(length);
    tlvs.set(tag, Buffer.from(body.subarray(offset, offset + length)));
    offset += length;
  }
  return {
    serviceType,
    sourceAddrTon,
    sourceAddrNpi,
    sourceAddr,
    destAddrTon,
    destAddrNpi,
    destinationAddr,
    esmClass,
    protocolId,
    priorityFlag,
    scheduleDeliveryTime,
    validityPeriod,
    registeredDelivery,
    replaceIfPresentFlag,
    dataCoding,
    smDefaultMsgId,
    shortMessage,
    tlvs,
  };
}

/** A C-octet-string TLV value without its terminating NUL. */
export function tlvString(value: Buffer | undefined): string | undefined {
  if (!value) return undefined;
  const end = value.indexOf(0);
  return value.toString('latin1', 0, end < 0 ? value.length : end);
}
