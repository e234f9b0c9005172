/**
 * SMS encoding and segmentation (3GPP TS 23.038 / 23.040) and the SMPP 3.4 `short_message`
 * layout for long messages.
 *
 * One function decides how many segments a body needs ({@link measure}) and the same packing
 * rule produces the octets handed to the carrier ({@link splitForSmpp}), so what the API
 * quotes and bills is exactly what is sent.
 *
 * This module is the public face; its parts live beside it: gsm7.ts (the alphabet and its
 * unpacked octets), segments.ts (measuring and cutting a body), udh.ts (the concatenation header
 * and reassembly) and smart-encoding.ts (look-alike replacement).
 */
import { decodeGsm7Unpacked, encodeGsm7Unpacked } from './gsm7';
import { Encoding, segment } from './segments';
import { concatHeader, MAX_PARTS, parseConcat, type ConcatInfo, type DecodedPart } from './udh';

export { Encoding, measure, SEGMENT_CAPACITY, type Measurement } from './segments';
export { MAX_PARTS, reassemble, type ConcatInfo, type DecodedPart } from './udh';
export { smartEncode, type SmartEncoding } from './smart-encoding';

/** The esm_class bit (UDHI) telling the SMSC that short_message starts with a UDH. */
export const ESM_CLASS_UDHI = 0x40;

/** SMPP data_coding values we emit: 0 = SMSC default alphabet (GSM 03.38), 8 = UCS2. */
export const DATA_CODING = { GSM7: 0, UCS2: 8 } as const;

/** The SMPP fields a carrier adapter needs for one message, see {@link splitForSmpp}. */
export interface SmppSplit {
  encoding: Encoding;
  dataCoding: 0 | 8;
  /** One `short_message` value per submit_sm, in order. */
  parts: Buffer[];
  /** 0x40 (UDHI) when the parts carry a concatenation header, else 0; OR in other flags. */
  esmClass: number;
}

/**
 * Encodes a body as SMPP `short_message` octets, one buffer per submit_sm.
 *
 * GSM7 is sent unpacked (one septet per octet, ESC 0x1B before extension characters), which
 * is what SMSCs expect with data_coding 0; UCS2 is UTF-16BE with data_coding 8. A message
 * longer than one segment gets the 8-bit-reference concatenation UDH `05 00 03 ref total seq`
 * on every part and esm_class 0x40. `reference` should differ between concurrent long
 * messages to the same handset (only its low 8 bits are used); derive it from the message id.
 *
 * @throws RangeError for an empty body (nothing to send) or one needing more than
 *   {@link MAX_PARTS} parts.
 */
export function splitForSmpp(text: string, reference: number): SmppSplit {
  if (text.length === 0) throw new RangeError('cannot split an empty message body');
  const { encoding, chunks } = segment(text);
  if (chunks.length > MAX_PARTS) {
    throw new RangeError(`message needs ${chunks.length} parts, more than ${MAX_PARTS}`);
  }
  const dataCoding = DATA_CODING[encoding];
  if (chunks.length === 1) {
    return { encoding, dataCoding, parts: [encodeChunk(chunks[0] ?? '', encoding)], esmClass: 0 };
  }
  const ref = reference & 0xff;
  const parts = chunks.map((chunk, i) =>
    Buffer.concat([concatHeader(ref, chunks.length, i + 1), encodeChunk(chunk, encoding)]),
  );
  return { encoding, dataCoding, parts, esmClass: ESM_CLASS_UDHI };
}

/**
 * Decodes one received `short_message` back to text, so the SMSC simulator (and tests) can
 * check what was actually sent. Understands data_coding 0 (unpacked GSM 03.38, as
 * {@link splitForSmpp} sends it), 1 (IA5/ASCII), 3 (Latin-1) and 8 (UCS2), and both the 8-bit
 * (IEI 0x00) and 16-bit (IEI 0x08) concatenation elements; other UDH elements are skipped.
 * An unknown extension septet decodes as its default-table character, as 23.038 asks.
 *
 * @throws RangeError on a malformed UDH, an octet above 0x7F in GSM data, an odd-length UCS2
 *   payload or an unsupported data_coding. Messages name offsets, never content.
 */
export function decodeSmppPart(buf: Buffer, dataCoding: number, hasUdh: boolean): DecodedPart {
  let payload = buf;
  let udh: ConcatInfo | undefined;
  if (hasUdh) {
    const udhLength = buf[0];
    if (udhLength === undefined || 1 + udhLength > buf.length) {
      throw new RangeError('UDH length exceeds the message');
    }
    udh = parseConcat(buf.subarray(1, 1 + udhLength));
    payload = buf.subarray(1 + udhLength);
  }
  const text = decodePayload(payload, dataCoding);
  return udh ? { text, udh } : { text };
}

function encodeChunk(chunk: string, encoding: Encoding): Buffer {
  if (encoding === Encoding.UCS2) {
    const out = Buffer.alloc(chunk.length * 2);
    // Code unit by code unit, so even a lone surrogate round-trips unchanged.
    for (let i = 0; i < chunk.length; i++) out.writeUInt16BE(chunk.charCodeAt(i), i * 2);
    return out;
  }
  return encodeGsm7Unpacked(chunk);
}

function decodePayload(payload: Buffer, dataCoding: number): string {
  switch (dataCoding) {
    case 0:
      return decodeGsm7Unpacked(payload);
    case 1:
      return payload.toString('ascii');
    case 3:
      return payload.toString('latin1');
    case 8: {
      if (payload.length % 2 !== 0) throw new RangeError('UCS2 payload has an odd length');
      let text = '';
      for (let i = 0; i < payload.length; i += 2) {
        text += String.fromCharCode(payload.readUInt16BE(i));
      }
      return text;
    }
    default:
      throw new RangeError(`unsupported data_coding ${dataCoding}`);
  }
}
