/**
 * SMS encoding and segmentation (3GPP TS 23.038 / 23.040) and the SMPP 3.4 `short_message`
 * layout for long messages.
 *
 * One function decides how many segments a body needs ({@link measure}) and the same packing
 * rule produces the octets handed to the carrier ({@link splitForSmpp}), so what the API
 * quotes and bills is exactly what is sent.
 */

/**
 * The two alphabets an SMS body can travel in. GSM7 is preferred because it fits 160
 * characters in one segment; any character outside it forces the whole message to UCS2.
 */
export const Encoding = { GSM7: 'GSM7', UCS2: 'UCS2' } as const;
/** See {@link Encoding}. */
export type Encoding = (typeof Encoding)[keyof typeof Encoding];

/**
 * Units (septets for GSM7, UTF-16 code units for UCS2) per segment. A concatenated part loses
 * room to its 6-octet user data header: 7 septets in GSM7, 3 code units in UCS2.
 */
export const SEGMENT_CAPACITY = {
  GSM7: { single: 160, concatenated: 153 },
  UCS2: { single: 70, concatenated: 67 },
} as const satisfies Record<Encoding, { single: number; concatenated: number }>;

/** The concatenation UDH stores the part count in one octet, so no message can exceed this. */
export const MAX_PARTS = 255;

/** The esm_class bit (UDHI) telling the SMSC that short_message starts with a UDH. */
export const ESM_CLASS_UDHI = 0x40;

/** SMPP data_coding values we emit: 0 = SMSC default alphabet (GSM 03.38), 8 = UCS2. */
export const DATA_CODING = { GSM7: 0, UCS2: 8 } as const;

const ESCAPE = 0x1b;

// GSM 03.38 default alphabet, indexed by septet value. 0x1B is the escape to the extension
// table and stands for no character of its own.
const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u001bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';

// Extension table: characters sent as ESC + this septet, costing two septets each.
const GSM_EXTENDED: ReadonlyArray<readonly [string, number]> = [
  ['\f', 0x0a],
  ['^', 0x14],
  ['{', 0x28],
  ['}', 0x29],
  ['\\', 0x2f],
  ['[', 0x3c],
  ['~', 0x3d],
  [']', 0x3e],
  ['|', 0x40],
  ['€', 0x65],
];

const BASIC_SEPTET = new Map<string, number>();
for (let i = 0; i < GSM_BASIC.length; i++) {
  if (i !== ESCAPE) BASIC_SEPTET.set(GSM_BASIC.charAt(i), i);
}
const EXTENDED_SEPTET = new Map<string, number>(GSM_EXTENDED);
const EXTENDED_CHAR = new Map<number, string>(GSM_EXTENDED.map(([c, s]) => [s, c]));

/**
 * The result of {@link measure}. `units` is what the carrier counts: septets for GSM7
 * (extension characters count two), UTF-16 code units for UCS2 (an emoji outside the BMP
 * counts two).
 */
export interface Measurement {
  encoding: Encoding;
  units: number;
  segments: number;
}

/**
 * Counts how a body will be billed and sent.
 *
 * An empty body measures as 0 segments: the API rejects empty bodies, so 0 is a signal of a
 * bug upstream rather than something to send. Segments are counted by the same packing rule
 * as {@link splitForSmpp}, which never splits an escape sequence or a surrogate pair, so a
 * long message can need one more segment than `ceil(units / 153)` (or `/ 67`).
 */
export function measure(text: string): Measurement {
  const encoding = detectEncoding(text);
  const atoms = toAtoms(text, encoding);
  const units = atoms.reduce((sum, a) => sum + a.width, 0);
  return { encoding, units, segments: pack(atoms, encoding).length };
}

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
  const encoding = detectEncoding(text);
  const chunks = pack(toAtoms(text, encoding), encoding);
  if (chunks.length > MAX_PARTS) {
    throw new RangeError(`message needs ${chunks.length} parts, more than ${MAX_PARTS}`);
  }
  const dataCoding = DATA_CODING[encoding];
  if (chunks.length === 1) {
    return { encoding, dataCoding, parts: [encodeChunk(chunks[0] ?? '', encoding)], esmClass: 0 };
  }
  const ref = reference & 0xff;
  const parts = chunks.map((chunk, i) =>
    Buffer.concat([
      Buffer.from([0x05, 0x00, 0x03, ref, chunks.length, i + 1]),
      encodeChunk(chunk, encoding),
    ]),
  );
  return { encoding, dataCoding, parts, esmClass: ESM_CLASS_UDHI };
}

/** Concatenation info from a part's UDH; `seq` is 1-based. */
export interface ConcatInfo {
  ref: number;
  total: number;
  seq: number;
}

/** One decoded `short_message`, see {@link decodeSmppPart}. */
export interface DecodedPart {
  text: string;
  /** Present only when the part carried a concatenation information element. */
  udh?: ConcatInfo;
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

interface Atom {
  text: string;
  width: number;
}

function detectEncoding(text: string): Encoding {
  for (const ch of text) {
    if (!BASIC_SEPTET.has(ch) && !EXTENDED_SEPTET.has(ch)) return Encoding.UCS2;
  }
  return Encoding.GSM7;
}

// Atoms are the smallest pieces that may not be split across parts: a GSM character (escape
// sequences included) or a UCS2 code point (surrogate pairs included).
function toAtoms(text: string, encoding: Encoding): Atom[] {
  const atoms: Atom[] = [];
  for (const ch of text) {
    const width = encoding === Encoding.GSM7 ? (EXTENDED_SEPTET.has(ch) ? 2 : 1) : ch.length;
    atoms.push({ text: ch, width });
  }
  return atoms;
}

function pack(atoms: readonly Atom[], encoding: Encoding): string[] {
  if (atoms.length === 0) return [];
  const { single, concatenated } = SEGMENT_CAPACITY[encoding];
  const total = atoms.reduce((sum, a) => sum + a.width, 0);
  if (total <= single) return [atoms.map((a) => a.text).join('')];
  const chunks: string[] = [];
  let current = '';
  let used = 0;
  for (const atom of atoms) {
    if (used + atom.width > concatenated) {
      chunks.push(current);
      current = '';
      used = 0;
    }
    current += atom.text;
    used += atom.width;
  }
  chunks.push(current);
  return chunks;
}

function encodeChunk(chunk: string, encoding: Encoding): Buffer {
  if (encoding === Encoding.UCS2) {
    const out = Buffer.alloc(chunk.length * 2);
    // Code unit by code unit, so even a lone surrogate round-trips unchanged.
    for (let i = 0; i < chunk.length; i++) out.writeUInt16BE(chunk.charCodeAt(i), i * 2);
    return out;
  }
  const octets: number[] = [];
  for (const ch of chunk) {
    const basic = BASIC_SEPTET.get(ch);
    if (basic !== undefined) {
      octets.push(basic);
    } else {
      octets.push(ESCAPE, EXTENDED_SEPTET.get(ch) ?? 0);
    }
  }
  return Buffer.from(octets);
}

function parseConcat(header: Buffer): ConcatInfo | undefined {
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

function decodePayload(payload: Buffer, dataCoding: number): string {
  switch (dataCoding) {
    case 0:
      return decodeGsmUnpacked(payload);
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

function decodeGsmUnpacked(payload: Buffer): string {
  let text = '';
  for (let i = 0; i < payload.length; i++) {
    const septet = payload[i] ?? 0;
    if (septet > 0x7f) throw new RangeError(`octet at offset ${i} is not a GSM septet`);
    if (septet !== ESCAPE) {
      text += GSM_BASIC.charAt(septet);
      continue;
    }
    const next = payload[++i];
    if (next !== undefined && next > 0x7f) {
      throw new RangeError(`octet at offset ${i} is not a GSM septet`);
    }
    // A trailing (or doubled) escape extends nothing; 23.038 says to show a space.
    if (next === undefined || next === ESCAPE) {
      text += ' ';
    } else {
      text += EXTENDED_CHAR.get(next) ?? GSM_BASIC.charAt(next);
    }
  }
  return text;
}

// Unicode look-alikes and their GSM-7 replacements (smart encoding). Punctuation and spacing only:
// letters are never transliterated, so a name or a word in another script is sent as written.
const LOOKALIKES: ReadonlyArray<readonly [string, string]> = [
  // quotes and primes
  ['\u2018', "'"], // ‘
  ['\u2019', "'"], // ’
  ['\u201a', "'"], // ‚
  ['\u201b', "'"], // ‛
  ['\u2032', "'"], // ′
  ['\u2039', "'"], // ‹
  ['\u203a', "'"], // ›
  ['\u02bc', "'"], // ʼ
  ['\u0060', "'"], // ` (not in GSM 03.38)
  ['\u00b4', "'"], // ´
  ['\u201c', '"'], // “
  ['\u201d', '"'], // ”
  ['\u201e', '"'], // „
  ['\u201f', '"'], // ‟
  ['\u2033', '"'], // ″
  ['\u00ab', '"'], // «
  ['\u00bb', '"'], // »
  // dashes and minus
  ['\u2010', '-'], // hyphen
  ['\u2011', '-'], // non-breaking hyphen
  ['\u2012', '-'], // figure dash
  ['\u2013', '-'], // en dash
  ['\u2014', '-'], // em dash
  ['\u2015', '-'], // horizontal bar
  ['\u2212', '-'], // minus sign
  // spaces (non-breaking, typographic, ideographic) and invisible characters
  ['\u00a0', ' '],
  ['\u2000', ' '],
  ['\u2001', ' '],
  ['\u2002', ' '],
  ['\u2003', ' '],
  ['\u2004', ' '],
  ['\u2005', ' '],
  ['\u2006', ' '],
  ['\u2007', ' '],
  ['\u2008', ' '],
  ['\u2009', ' '],
  ['\u200a', ' '],
  ['\u202f', ' '],
  ['\u205f', ' '],
  ['\u3000', ' '],
  ['\t', ' '],
  ['\u200b', ''], // zero-width space
  ['\u200c', ''], // zero-width non-joiner
  ['\u200d', ''], // zero-width joiner
  ['\u2060', ''], // word joiner
  ['\ufeff', ''], // byte order mark
  ['\u00ad', ''], // soft hyphen
  ['\u2028', '\n'], // line separator
  ['\u2029', '\n'], // paragraph separator
  // other punctuation
  ['\u2026', '...'], // …
  ['\u2022', '-'], // •
  ['\u00b7', '.'], // ·
  ['\u2044', '/'], // ⁄
  ['\u02c6', '^'], // ˆ
  ['\u02dc', '~'], // ˜
  ['\uff01', '!'], // fullwidth ! (and the rest below, as CJK input methods type them)
  ['\uff0c', ','],
  ['\uff0e', '.'],
  ['\uff1a', ':'],
  ['\uff1b', ';'],
  ['\uff1f', '?'],
  ['\uff08', '('],
  ['\uff09', ')'],
];
const LOOKALIKE = new Map<string, string>(LOOKALIKES);

/** The result of {@link smartEncode}. */
export interface SmartEncoding {
  /** The text to send: `text` with look-alikes replaced, or `text` unchanged when that saves nothing. */
  text: string;
  /** Characters replaced (0 when the original was kept). */
  replaced: number;
  /** How the original would have been sent. */
  original: Measurement;
  /** How `text` is sent. */
  measurement: Measurement;
  /** `original.segments - measurement.segments`, never negative. */
  segmentsSaved: number;
}

/**
 * Smart encoding: replaces Unicode look-alikes (curly quotes, long dashes, non-breaking and other
 * typographic spaces, the ellipsis, zero-width characters…) with their GSM-7 counterparts, so a
 * body that is GSM-7 but for them is no longer forced to UCS-2 and fits more characters per
 * segment. Letters are never changed. The replaced text is used only when it needs fewer
 * segments, or as many segments in GSM-7 instead of UCS-2; otherwise (say a Chinese body where an
 * ellipsis would grow into three dots) the original is kept, so it never costs more.
 */
export function smartEncode(text: string): SmartEncoding {
  const original = measure(text);
  let candidate = '';
  let replaced = 0;
  for (const ch of text) {
    const r = LOOKALIKE.get(ch);
    if (r === undefined) {
      candidate += ch;
    } else {
      candidate += r;
      replaced++;
    }
  }
  const after = measure(candidate);
  const better =
    replaced > 0 &&
    candidate.length > 0 &&
    (after.segments < original.segments ||
      (after.segments === original.segments &&
        after.encoding === Encoding.GSM7 &&
        original.encoding === Encoding.UCS2));
  if (!better) return { text, replaced: 0, original, measurement: original, segmentsSaved: 0 };
  return {
    text: candidate,
    replaced,
    original,
    measurement: after,
    segmentsSaved: original.segments - after.segments,
  };
}
