/**
 * The folded copy of a text that the masking rules read (see domain/masking.ts): any Unicode
 * decimal digit as its ASCII digit, any run of spaces as one plain space, any dash as `-`,
 * invisible format characters left out, with a map back to the original so that what is
 * replaced is the original text.
 */

/** A text as the rules read it, with where each of its characters came from. */
export interface FoldedText {
  /** ASCII digits, single plain spaces, `-` for every dash; format characters left out. */
  text: string;
  /** `at[i]`: the index in the original of folded character `i`; `at[text.length]`: its length. */
  at: number[];
}

/**
 * Folds a text for matching: every Unicode decimal digit (`\p{Nd}`) becomes its ASCII digit, a
 * run of spaces of any kind (`\p{Zs}`, tabs) one plain space, every dash (`\p{Pd}`, `−`) `-`,
 * the Arabic decimal and thousands separators `.` and `,`, and format characters (`\p{Cf}`:
 * zero-width spaces, direction marks, soft hyphens) are dropped, with a map back to the original.
 */
export function foldForMatching(text: string): FoldedText {
  let out = '';
  const at: number[] = [];
  for (let i = 0; i < text.length;) {
    const cp = text.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    let folded: string;
    if (cp >= 0x30 && cp <= 0x39) folded = ch;
    else if (cp === 0x20 || cp === 0x09 || SPACE.test(ch)) folded = ' ';
    else if (cp < 0x80) folded = ch;
    else if (DIGIT.test(ch)) folded = String(digitValue(cp));
    else if (DASH.test(ch)) folded = '-';
    else if (cp === 0x066b) folded = '.';
    else if (cp === 0x066c) folded = ',';
    else if (FORMAT.test(ch)) folded = '';
    else folded = ch;
    if (folded === ' ' && out.endsWith(' ')) folded = '';
    for (let k = 0; k < folded.length; k++) at.push(i);
    out += folded;
    i += ch.length;
  }
  at.push(text.length);
  return { text: out, at };
}

let table: { from: string; to: string } | undefined;
/**
 * {@link foldForMatching} as a character translation, for a store that folds on its side (such as
 * PostgreSQL's `translate(text, from, to)`): `from[i]` reads as `to[i]`, and the characters of `from`
 * past `to`'s length are dropped. Space runs are not collapsed by it.
 */
export function foldingTable(): { from: string; to: string } {
  if (table) return table;
  let from = '\t';
  let to = ' ';
  let dropped = '';
  const ranges = [
    [0x80, 0x20000],
    [0xe0000, 0xe0080],
  ] as const;
  for (const [lo, hi] of ranges) {
    for (let cp = lo; cp < hi; cp++) {
      const ch = String.fromCodePoint(cp);
      const folded = foldForMatching(ch).text;
      if (folded === ch) continue;
      if (folded === '') dropped += ch;
      else {
        from += ch;
        to += folded;
      }
    }
  }
  table = { from: from + dropped, to };
  return table;
}

/** A text with every Unicode decimal digit as its ASCII digit (nothing else changed). */
export function asciiDigits(text: string): string {
  return text.replace(/\p{Nd}/gu, (d) => String(digitValue(d.codePointAt(0)!)));
}

const DIGIT = /^\p{Nd}$/u;
const SPACE = /^\p{Zs}$/u;
const DASH = /^[\p{Pd}\u2212]$/u;
const FORMAT = /^\p{Cf}$/u;

const digitValues = new Map<number, number>();
/**
 * The value of a decimal digit: Unicode assigns `\p{Nd}` only in runs of ten, zero to nine, so
 * the distance from the start of its run, modulo ten, is its value.
 */
function digitValue(cp: number): number {
  let value = digitValues.get(cp);
  if (value === undefined) {
    let start = cp;
    while (start > 0 && DIGIT.test(String.fromCodePoint(start - 1))) start--;
    value = (cp - start) % 10;
    digitValues.set(cp, value);
  }
  return value;
}
