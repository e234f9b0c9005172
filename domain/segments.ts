/**
 * How many segments a body needs, and which characters go in each (3GPP TS 23.040): one packing
 * rule serves both {@link measure} (what the API quotes and bills) and `splitForSmpp`
 * (domain/encoding.ts: what is sent), so the two always agree.
 */
import { gsm7Width, isGsm7 } from './gsm7';

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
 * as `splitForSmpp`, which never splits an escape sequence or a surrogate pair, so a
 * long message can need one more segment than `ceil(units / 153)` (or `/ 67`).
 */
export function measure(text: string): Measurement {
  const encoding = detectEncoding(text);
  const atoms = toAtoms(text, encoding);
  const units = atoms.reduce((sum, a) => sum + a.width, 0);
  return { encoding, units, segments: pack(atoms, encoding).length };
}

/**
 * The body cut into the texts of its segments, in order, by the rule {@link measure} counts with
 * (no escape sequence or surrogate pair split); no chunk for an empty body.
 */
export function segment(text: string): { encoding: Encoding; chunks: string[] } {
  const encoding = detectEncoding(text);
  return { encoding, chunks: pack(toAtoms(text, encoding), encoding) };
}

interface Atom {
  text: string;
  width: number;
}

function detectEncoding(text: string): Encoding {
  for (const ch of text) {
    if (!isGsm7(ch)) return Encoding.UCS2;
  }
  return Encoding.GSM7;
}

// Atoms are the smallest pieces that may not be split across parts: a GSM character (escape
// sequences included) or a UCS2 code point (surrogate pairs included).
function toAtoms(text: string, encoding: Encoding): Atom[] {
  const atoms: Atom[] = [];
  for (const ch of text) {
    const width = encoding === Encoding.GSM7 ? gsm7Width(ch) : ch.length;
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
