/**
 * The shapes of numbers in a folded text (see domain/text-folding.ts), shared by the code rules
 * (domain/code-rules.ts) and the phone-number rule (domain/contact-rules.ts): digit and letter
 * atoms, compounds of digit groups (dates, times, amounts, grouped codes), and the context that
 * makes a number an amount, a count with a unit or a year.
 */

/** A stretch of the folded text, `end` exclusive. */
export interface Span {
  start: number;
  end: number;
}

/** A run of ASCII letters and digits in the folded text, by what it holds. */
export interface Atom extends Span {
  text: string;
  kind: 'num' | 'alnum' | 'word';
}

const DIGITS = /^[0-9]+$/;
const HAS_DIGIT = /[0-9]/;

/** ISO 4217 codes as the runtime knows them (`USD`, `RUB`, `INR`, …), in capitals only: `try`, `top` and `all` are words. */
const ISO_CURRENCY = Intl.supportedValuesOf('currency').join('|');
const CURRENCY_SYMBOL_BEFORE = new RegExp(`(?:\\p{Sc}|(?<!\\p{L})(?:${ISO_CURRENCY}))\\s?$`, 'u');
const CURRENCY_WORD_BEFORE = /(?:(?<![A-Za-z])(?:Rs\.?|usd|eur|gbp|cny|rmb|jpy|inr)|人民币)\s?$/i;
const CURRENCY_SYMBOL_AFTER = new RegExp(`^\\s?(?:\\p{Sc}|(?:${ISO_CURRENCY})(?![A-Za-z]))`, 'u');
const CURRENCY_WORD_AFTER = new RegExp(
  '^\\s?(?:元|块|塊|円|원|' +
    '(?:руб(?:л[а-я]*)?|р\\.|грн|тг|сум|лв|лей|zł|zl|kr|kč|ft|lei|tl|rm|rp|dollars?|euros?|pounds?' +
    '|yen|yuan|rupees?|pesos?|reais|rubles?|roubles?|lira|won|baht|dong|đồng|ringgit|rupiah' +
    '|naira|shillings?|francs?|usd|eur|gbp|cny|rmb|jpy|inr' +
    '|ريال|ر\\.س|درهم|دينار|جنيه|ليرة|تومان|ریال|रुपये|रुपए|रु|টাকা|บาท)(?![\\p{L}\\p{M}]))',
  'iu',
);
const UNIT_AFTER = new RegExp(
  '^\\s?(?:分钟|分(?![享别配发开析])|秒|小时|天(?!猫)|日|号|月|年|周|角|万|亿|千|百|次|个|人|条|件|份|位|岁|%|％|米|公里|公斤|克|斤' +
    '|(?:ms|s|secs?|seconds?|mins?|minutes?|h|hrs?|hours?|days?|weeks?|months?|years?|yrs?' +
    '|am|pm|km|kg|gb|mb|kb|pts|points|miles)(?![A-Za-z]))',
  'i',
);
const MONTH_BEFORE =
  /(?<![A-Za-z])(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?(?:\s+\d{1,2}(?:st|nd|rd|th)?)?,?\s+$/i;

/** True when a currency (symbol, ISO code or word) stands right before `span`. */
export function isAmountBefore(text: string, span: Span): boolean {
  const before = text.slice(Math.max(0, span.start - 8), span.start);
  return CURRENCY_SYMBOL_BEFORE.test(before) || CURRENCY_WORD_BEFORE.test(before);
}

/** True when a currency (symbol, ISO code or word) follows `span`. */
export function isAmountAfter(text: string, span: Span): boolean {
  const after = text.slice(span.end, span.end + 12);
  return CURRENCY_SYMBOL_AFTER.test(after) || CURRENCY_WORD_AFTER.test(after);
}

/** True when a unit or a count word follows `span` (`5分钟`, `10 minutes`, `15%`). */
export function isUnitAfter(text: string, span: Span): boolean {
  return UNIT_AFTER.test(text.slice(span.end, span.end + 8));
}

/** The spans of every match of the global regular expression `re`. */
export const spansOf = (text: string, re: RegExp): Span[] =>
  [...text.matchAll(re)].map((m) => ({ start: m.index, end: m.index + m[0].length }));

/** The atom for `text`, found at `start`. */
export function atom(text: string, start: number): Atom {
  return {
    start,
    end: start + text.length,
    text,
    kind: DIGITS.test(text) ? 'num' : HAS_DIGIT.test(text) ? 'alnum' : 'word',
  };
}

// Consecutive numeric atoms joined by one separator form a compound (a date, an amount, a
// grouped code); every other atom stands alone.
export function compounds(text: string, atoms: readonly Atom[]): Atom[][] {
  const out: Atom[][] = [];
  let current: Atom[] = [];
  for (const atom of atoms) {
    const prev = current[current.length - 1];
    const joined =
      prev !== undefined &&
      prev.kind === 'num' &&
      atom.kind === 'num' &&
      atom.start === prev.end + 1 &&
      /[-.,:/]/.test(text.charAt(prev.end));
    if (joined) {
      current.push(atom);
    } else {
      if (current.length > 0) out.push(current);
      current = [atom];
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** What a compound is: see {@link classify}. */
export type CompoundClass = 'plain' | 'grouped' | 'shortDate' | 'decimal' | 'mixed' | 'kept';

/**
 * What a compound of digit groups is: a plain number, a grouped code (`12-34-56`), a short date
 * (`12-10-24`), a decimal, a mix, or something kept (a time, a date, a number with thousands
 * separators).
 */
export function classify(ascii: string, parts: readonly Atom[]): CompoundClass {
  if (parts.length === 1) return 'plain';
  if (/^\d{1,2}:\d{2}(?::\d{2})?$/.test(ascii)) return 'kept';
  if (isDate(ascii)) return /^\d{1,2}-\d{1,2}-\d{2}$/.test(ascii) ? 'shortDate' : 'kept';
  if (/^\d{1,3}(?:,\d{3})+(?:\.\d+)?$/.test(ascii)) return 'kept';
  if (/^\d+\.\d+$/.test(ascii)) return 'decimal';
  const lengths = parts.map((p) => p.text.length);
  const digits = lengths.reduce((a, b) => a + b, 0);
  if (
    /^\d+(?:-\d+)+$/.test(ascii) &&
    parts.length <= 4 &&
    lengths.every((n) => n >= 2 && n <= 4) &&
    digits >= 4 &&
    digits <= 8
  ) {
    return 'grouped';
  }
  return 'mixed';
}

function isDate(ascii: string): boolean {
  const m = /^(\d+)([-/.])(\d+)(?:\2(\d+))?$/.exec(ascii);
  if (!m) return false;
  const [a = '', , b = '', c] = m.slice(1);
  const month = (s: string) => Number(s) >= 1 && Number(s) <= 12;
  const day = (s: string) => Number(s) >= 1 && Number(s) <= 31;
  // Four-digit years only from this century and the last: `3-1-5208` is a pickup code.
  const year = (s: string) => s.length === 2 || (s.length === 4 && /^(?:19|20)/.test(s));
  if (c === undefined) {
    // 2024-05, 12/25, 25.12
    if (a.length === 4) return year(a) && month(b);
    return a.length <= 2 && b.length <= 2 && ((month(a) && day(b)) || (day(a) && month(b)));
  }
  if (a.length === 4) return year(a) && b.length <= 2 && c.length <= 2 && month(b) && day(c);
  return (
    a.length <= 2 && b.length <= 2 && year(c) && ((month(a) && day(b)) || (day(a) && month(b)))
  );
}

/** True for a year (1900–2099) right after a month name: `May 12, 2024`, `Jan 2025`. */
export function isYearAfterMonth(text: string, span: Span): boolean {
  const year = Number(text.slice(span.start, span.end));
  return (
    span.end - span.start === 4 &&
    year >= 1900 &&
    year <= 2099 &&
    MONTH_BEFORE.test(text.slice(Math.max(0, span.start - 24), span.start))
  );
}
