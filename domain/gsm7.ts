/**
 * The GSM 03.38 default alphabet and its extension table (3GPP TS 23.038), and GSM-7 text as SMPP
 * carries it with data_coding 0: unpacked, one septet per octet, ESC 0x1B before an extension
 * character.
 */

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

/** True when `ch` can be sent in GSM-7 (default alphabet or extension table). */
export function isGsm7(ch: string): boolean {
  return BASIC_SEPTET.has(ch) || EXTENDED_SEPTET.has(ch);
}

/** Septets `ch` costs in GSM-7: two for an extension character (escape included), else one. */
export function gsm7Width(ch: string): number {
  return EXTENDED_SEPTET.has(ch) ? 2 : 1;
}

/** Encodes GSM-7 text unpacked: one septet per octet, ESC before each extension character. */
export function encodeGsm7Unpacked(chunk: string): Buffer {
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

/**
 * Decodes unpacked GSM-7 octets. An unknown extension septet decodes as its default-table
 * character, and a trailing or doubled escape as a space, as 23.038 asks.
 *
 * @throws RangeError on an octet above 0x7F (the message names its offset, never content).
 */
export function decodeGsm7Unpacked(payload: Buffer): string {
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
