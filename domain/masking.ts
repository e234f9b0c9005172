/**
 * What a person may see of a text: one-time codes masked, phone numbers and e-mail addresses
 * replaced, everything else (sender signature, amounts, dates, times, validity) readable.
 *
 * Reviewers and operators need to read a message to judge it (who sent it, how long it is
 * valid, what it costs), but must never be able to use the code in it nor reach the person it
 * names. The rules therefore err on the side of masking: a number that merely looks like a code
 * is hidden, unless it is clearly an amount, a duration, a date or a time, or part of the sender
 * signature.
 *
 * Every rule runs on a folded copy of the text ({@link foldForMatching}): any Unicode decimal digit
 * (`\p{Nd}`: Arabic-Indic, Persian, Devanagari, full-width, …) reads as its ASCII digit, any space
 * as one plain space, any dash as `-`, and invisible format characters are ignored. What is
 * replaced is the original text, so the parts kept keep their own script.
 *
 * This module is the public face; the rules live beside it: text-folding.ts (the folded copy),
 * code-rules.ts (keywords and their windows, standalone digit runs), contact-rules.ts (phone
 * numbers, e-mail addresses) and number-shapes.ts (dates, amounts, units, shared by both).
 */
import { codeSpans } from './code-rules';
import { emailSpans, phoneSpans } from './contact-rules';
import type { Span } from './number-shapes';
import { foldForMatching, type FoldedText } from './text-folding';

export { asciiDigits, foldForMatching, foldingTable, type FoldedText } from './text-folding';

/**
 * What replaces a code. Always four bullets, whatever the code's length or shape, so the mask
 * does not reveal how long the code was.
 */
export const CODE_MASK = '••••';

/** What replaces a phone number. */
export const NUMBER_MASK = '[number]';

/** What replaces an e-mail address. */
export const EMAIL_MASK = '[email]';

/**
 * What a person sees of a message body — the one redaction for reviewers (the stored review
 * task), operators (the codec server's view) and log lines: e-mail addresses become `[email]`,
 * phone numbers `[number]`, one-time codes `••••` ({@link maskCodes}); amounts, dates, times,
 * durations and the sender signature stay readable.
 *
 * A phone number is any chain of digit groups (any script) joined by a space, `-`, `.`, `/` or
 * parentheses, with an optional leading `+`, holding 7 digits or more — whatever the country or
 * grouping (`13912345680`, `600 123 456`, `+44 (0)20 7946 0958`, `٠٥٠ ١٢٣ ٤٥٦٧`). Not a phone
 * number: a date or time (`2024-05-12 10:30`), a number with thousands separators or two decimals
 * (`12,345.67`), and a group with a currency before it or a currency or unit after it (`2 500
 * руб`, `€ 1 250 000`). A chain that is exactly a code the code rules found (`code 48291365`)
 * is masked as a code. Lossy by design: an order number of 7+ digits becomes `[number]` too.
 * Idempotent.
 */
export function redactForPeople(text: string): string {
  const folded = foldForMatching(text);
  return replaceSpans(text, folded, peopleSpans(folded.text));
}

/**
 * Masks the one-time codes in a message body and keeps everything else readable (phone numbers
 * and e-mail addresses too: {@link redactForPeople} replaces those).
 *
 * Two rules, both skipping amounts (`¥100`, `$1,234.56`, `1000元`, `USD 2500`, `2500 руб`,
 * `2500 ₽`), durations and other counts (`5分钟`, `10 minutes`, `15%`), dates and times
 * (`2024-05-12`, `12:30`, `May 12, 2024`, `2024年`) and anything inside a `【signature】`:
 * - next to a keyword (验证码, 动态码, 密码, code, OTP, PIN, password, verification, код, رمز,
 *   कोड, …; also glued to the code, `OTP482913`): the first code-shaped token after it within
 *   the same sentence, else the nearest one before it. Code-shaped here means 4–10 digits, digit
 *   groups (`12-34-56`, `123 456` with any kind of space), 4–12 letters and digits with at least
 *   one digit (`AB12CD`); 4–8 capital letters only directly after the keyword (`code: QXBTRA`,
 *   `code is QXBTRA`), since capitals are also brand names. When the keyword's window holds no
 *   other code-shaped token, amount protection yields: `код 4829 руб` masks `4829`.
 * - anywhere: every standalone run of 4–8 digits, and hyphenated digit groups of 4–8 digits
 *   (`G-123456` becomes `G-••••`), since plenty of codes come without a keyword.
 *
 * Digits of any script count (see {@link foldForMatching}). Consequences a caller should know: a
 * bare year, a bank hotline such as `95588` or the last four digits of a card are masked too;
 * numbers of 11+ digits (phone numbers) are left to {@link redactForPeople}. Idempotent.
 */
export function maskCodes(text: string): string {
  const folded = foldForMatching(text);
  return replaceSpans(
    text,
    folded,
    codeSpans(folded.text).map((s) => ({ ...s, mask: CODE_MASK })),
  );
}

/**
 * Redacts a free-text string we did not write (a carrier error message, an exception text, a
 * log line) before it reaches a log, a metric, an error or a failure message: the pieces between
 * the parts kept whole go through {@link redactForPeople}.
 *
 * Message ids (`msg_<ulid>`), UUIDs (Temporal run ids), ISO-8601 timestamps, hex literals
 * (SMPP command_status) and IPv4 addresses are kept whole, so the redacted line can still be
 * correlated. Lossy by design: other 4–8 digit numbers in the text (ports, error numbers) may
 * be masked as codes.
 */
export function redactFreeText(text: string): string {
  return text
    .split(PRESERVED)
    .map((piece, i) => (i % 2 === 1 ? piece : redactForPeople(piece)))
    .join('');
}

interface Masked extends Span {
  mask: string;
}

// Kept whole by redactFreeText: our message ids, UUIDs (run ids), ISO timestamps, hex literals
// (SMPP command_status values such as 0x0000000B) and IPv4 addresses with their port.
const PRESERVED = new RegExp(
  '(' +
    [
      'msg_[0-9A-HJKMNP-TV-Z]{26}',
      '0x[0-9a-fA-F]+',
      '(?<![0-9.])\\d{1,3}(?:\\.\\d{1,3}){3}(?::\\d{1,5})?(?![0-9.])',
      '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}',
      '\\d{4}-\\d{2}-\\d{2}(?:[T ]\\d{2}:\\d{2}(?::\\d{2}(?:\\.\\d+)?)?(?:Z|[+-]\\d{2}:?\\d{2})?)?',
    ].join('|') +
    ')',
);

/** What a person may not see of a folded text: e-mail addresses, phone numbers and codes, merged. */
function peopleSpans(text: string): Masked[] {
  const emails = emailSpans(text);
  const codes = codeSpans(text);
  // A chain that is (inside) a code the code rules found is masked as that code.
  const phones = phoneSpans(text).filter(
    (p) => !codes.some((c) => c.start <= p.start && p.end <= c.end),
  );
  return [
    ...emails.map((s) => ({ ...s, mask: EMAIL_MASK })),
    ...phones.map((s) => ({ ...s, mask: NUMBER_MASK })),
    ...codes.map((s) => ({ ...s, mask: CODE_MASK })),
  ];
}

/** The original text with the folded spans replaced; overlapping spans merge, the first-listed mask wins. */
function replaceSpans(original: string, folded: FoldedText, spans: readonly Masked[]): string {
  const rank = new Map(spans.map((s, i) => [s, i]));
  const sorted = [...spans].sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: Masked[] = [];
  for (const span of sorted) {
    const last = merged[merged.length - 1];
    if (last && span.start < last.end) {
      last.end = Math.max(last.end, span.end);
      if (rank.get(span)! < rank.get(last)!) {
        last.mask = span.mask;
        rank.set(last, rank.get(span)!);
      }
      continue;
    }
    const copy = { ...span };
    rank.set(copy, rank.get(span)!);
    merged.push(copy);
  }
  let out = '';
  let cursor = 0;
  for (const span of merged) {
    const start = folded.at[span.start]!;
    out += original.slice(cursor, start) + span.mask;
    cursor = folded.at[span.end]!;
  }
  return out + original.slice(cursor);
}
