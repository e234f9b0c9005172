/** The needles: the written forms of a phone number, how a needle is printed, and how texts are folded for matching. */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { foldForMatching } from '../../domain/masking';

export const MIN_NEEDLE_LENGTH = 4;

/**
 * The written forms of a phone number a leak may take: E.164 (`+447400123456`), digits without
 * `+` (`447400123456`), the national significant number (`7400123456`), and the international
 * and national formats people and libraries print (`44 7400 123456`, `44-7400-123456`,
 * `07400 123456`). A leading `+` is left off where the form without it is also searched, since a
 * substring search for the shorter form finds both.
 *
 * @throws TypeError when the input is not an E.164 number (the message does not repeat it).
 */
export function needleVariants(e164: string): string[] {
  const parsed = /^\+[1-9][0-9]{5,14}$/.test(e164) ? parsePhoneNumberFromString(e164) : undefined;
  if (!parsed) throw new TypeError('needleVariants: not an E.164 number');
  const international = parsed.formatInternational().replace(/^\+/, '');
  const variants = [
    e164,
    e164.slice(1),
    String(parsed.nationalNumber),
    international,
    international.replace(/ /g, '-'),
    parsed.formatNational(),
  ];
  return [...new Set(variants)].filter((v) => v.length >= MIN_NEEDLE_LENGTH);
}

/** Expands every E.164 needle with {@link needleVariants}; other needles (codes) are kept as they are. */
export function expandNeedles(needles: readonly string[]): string[] {
  const out = needles.flatMap((n) => (/^\+[1-9][0-9]{5,14}$/.test(n) ? needleVariants(n) : [n]));
  return [...new Set(out)];
}

/**
 * A needle as it may be printed: at most three leading characters (one for needles under 12
 * characters, none under 6) and `…`, so a finding never reveals a code or a subscriber number.
 */
export function maskNeedle(needle: string): string {
  const shown = needle.length >= 12 ? 3 : needle.length >= 6 ? 1 : 0;
  return `${[...needle].slice(0, shown).join('')}…`;
}

/**
 * A text as needles are matched against it: every decimal digit ASCII, spaces single and plain,
 * dashes `-` (`foldForMatching`). Printable ASCII without double spaces is already folded.
 */
export const foldText = (text: string): string =>
  /[^\x20-\x7e]| {2}/.test(text) ? foldForMatching(text).text : text;
