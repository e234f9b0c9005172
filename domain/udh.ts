/**
 * The concatenation user data header (3GPP TS 23.040 9.2.3.24.1 and .8) a long message carries
 * in each part, and reassembly of received parts.
 */

/** The concatenation UDH stores the part count in one octet, so no message can exceed this. */
export const MAX_PARTS = 255;

/** The 8-bit-reference concatenation UDH `05 00 03 ref total seq`; `seq` is 1-based. */
export function concatHeader(ref: number, total: number, seq: number): Buffer {
  return Buffer.from([0x05, 0x00, 0x03, ref, total, seq]);
}

/** Concatenation info from a part's UDH; `seq` is 1-based. */
export interface ConcatInfo {
  ref: number;
  total: number;
  seq: number;
}

/** One decoded `short_message`, see `decodeSmppPart` (domain/encoding.ts). */
export interface DecodedPart {
  text: string;
  /** Present only when the part carried a concatenation information element. */
  udh?: ConcatInfo;
}

/**
 * The concatenation information of a UDH (without its length octet): the 8-bit (IEI 0x00) or
 * 16-bit (IEI 0x08) reference element, the last one if several; other elements are skipped.
 *
 * @throws RangeError on a malformed element (the message names its offset).
 */
export function parseConcat(header: Buffer): ConcatInfo | undefined {
  let found: ConcatInfo | undefined;
  let i = 0;
  while (i < header.length) {
    const iei = header[i];
    const length = header[i + 1];
    if (iei === undefined || length === undefined || i + 2 + length > header.length) {
      throw new RangeError(`malformed UDH element at offset ${i}`);
    }
    const data = header.subarray(i + 2, i + 2 + length);
    if (iei === 0x00 && length === 3) {
      found = { ref: data.readUInt8(0), total: data.readUInt8(1), seq: data.readUInt8(2) };
    } else if (iei === 0x08 && length === 4) {
      found = { ref: data.readUInt16BE(0), total: data.readUInt8(2), seq: data.readUInt8(3) };
    }
    i += 2 + length;
  }
  return found;
}

/**
 * Joins decoded parts into the original text. Parts may arrive in any order; a single part
 * without a UDH is a whole message.
 *
 * @throws RangeError when parts are missing, duplicated, or from different messages
 *   (reference or total disagree) — the caller should keep waiting or give up, never guess.
 */
export function reassemble(parts: readonly DecodedPart[]): string {
  const first = parts[0];
  if (!first) throw new RangeError('no parts to reassemble');
  if (!first.udh) {
    if (parts.length !== 1) throw new RangeError('several parts without concatenation UDH');
    return first.text;
  }
  const { ref, total } = first.udh;
  if (parts.length !== total) {
    throw new RangeError(`expected ${total} parts, got ${parts.length}`);
  }
  const ordered = new Array<string | undefined>(total);
  for (const part of parts) {
    if (!part.udh || part.udh.ref !== ref || part.udh.total !== total) {
      throw new RangeError('parts belong to different messages');
    }
    const index = part.udh.seq - 1;
    if (index < 0 || index >= total || ordered[index] !== undefined) {
      throw new RangeError(`invalid or duplicate sequence number ${part.udh.seq}`);
    }
    ordered[index] = part.text;
  }
  return ordered.join('');
}
