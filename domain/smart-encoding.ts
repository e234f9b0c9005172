/**
 * Smart encoding: Unicode look-alikes replaced by their GSM-7 counterparts when that makes a body
 * cheaper to send.
 */
import { Encoding, measure, type Measurement } from './segments';

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
