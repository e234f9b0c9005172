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
 */

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

interface Span {
  start: number;
  end: number;
}

interface Masked extends Span {
  mask: string;
}

/** Why a candidate is kept: an amount (yields to a keyword with nothing else after it), or anything else. */
type Protection = 'amount' | 'other' | undefined;

interface Candidate extends Span {
  /** Masked even without a keyword nearby. */
  fallback: boolean;
  /** Masked when a keyword is nearby. */
  keyword: boolean;
  /** An amount, a count with a unit, a date, or inside the signature: not masked (see {@link Protection}). */
  protected: Protection;
  /** Only right after a keyword (`code is X`), so `ACME: your code expires soon` keeps `ACME`. */
  forwardOnly?: boolean;
}

interface Atom extends Span {
  text: string;
  kind: 'num' | 'alnum' | 'word';
}

const DIGITS = /^[0-9]+$/;
const HAS_DIGIT = /[0-9]/;
const ATOM = /[A-Za-z0-9]+/g;
const SIGNATURE = /【[^【】]*】/g;
// A full stop ends a sentence only before a space: `1308.15分钟` is one token.
const SENTENCE_BREAK = /[。！？!?；;\n]|\.\s/;
const KEYWORD_WINDOW = 32;
// What may stand between a keyword and a letter-only code: `code QXBTRA`, `code is: QXBTRA`.
const DIRECTLY_AFTER = /^\s*(?:is|was|=|为|是)?\s*[:：=]?\s*$/i;

const KEYWORD = new RegExp(
  [
    '验证码|校验码|动态码|动态密码|确认码|激活码|安全码|授权码|认证码|随机码|识别码|登录码|短信码',
    '取件码|取货码|提货码|口令|密码|验证',
    '認証コード|確認コード|コード|인증번호|코드|код|пароль|código|codigo|senha|şifre',
    // Arabic and Persian (code, verification code, password), Hindi (code, OTP, password, PIN).
    'رمز|كود|کد|كد|كلمة المرور|رمز عبور|कोड|ओटीपी|पासवर्ड|पिन',
    '(?<![A-Za-z])(?:one[- ]time (?:code|password|pin)|verification|verify|passcode|passwords?' +
      '|codes?|otp|pin|2fa|token|kode|kod)(?![A-Za-z])',
  ].join('|'),
  'gi',
);

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
const NUMBER_WITH_UNIT =
  /^\d+(?:ms|s|secs?|mins?|h|hrs?|d|days?|gb|mb|kb|km|kg|am|pm|st|nd|rd|th|x|k|m)$/i;

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
const EMAIL = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g;
/** What may join two digit groups of one phone number: `600 123`, `123-45`, `(0)20`, `030/123`, `06.12`. */
const PHONE_GAP = /^(?: ?[-/] ?| |\.| ?\( ?|\) ?(?:[-/] ?)?)$/;
/** Digits from which a chain of groups is a phone number (a short local number has 7). */
const PHONE_MIN_DIGITS = 7;

/** What protects a span of the folded text from masking, if anything. */
function protection(text: string, signatures: readonly Span[], span: Span): Protection {
  if (signatures.some((s) => span.start >= s.start && span.end <= s.end)) return 'other';
  if (isAmountBefore(text, span) || isAmountAfter(text, span)) return 'amount';
  if (UNIT_AFTER.test(text.slice(span.end, span.end + 8)) || isYearAfterMonth(text, span))
    return 'other';
  return undefined;
}

function isAmountBefore(text: string, span: Span): boolean {
  const before = text.slice(Math.max(0, span.start - 8), span.start);
  return CURRENCY_SYMBOL_BEFORE.test(before) || CURRENCY_WORD_BEFORE.test(before);
}

function isAmountAfter(text: string, span: Span): boolean {
  const after = text.slice(span.end, span.end + 12);
  return CURRENCY_SYMBOL_AFTER.test(after) || CURRENCY_WORD_AFTER.test(after);
}

const spansOf = (text: string, re: RegExp): Span[] =>
  [...text.matchAll(re)].map((m) => ({ start: m.index, end: m.index + m[0].length }));

/** The code spans of a folded text. */
function codeSpans(text: string): Span[] {
  const keywords = spansOf(text, KEYWORD);
  const candidates = findCandidates(text, keywords);
  const masked: Span[] = candidates.filter((c) => c.fallback && !c.protected);
  // A keyword written in capitals (`CODE`) is not itself a code.
  const usable = candidates.filter(
    (c) => c.keyword && !keywords.some((k) => c.start < k.end && k.start < c.end),
  );
  const unprotected = usable.filter((c) => !c.protected);
  const amounts = usable.filter((c) => c.protected === 'amount');
  for (const keyword of keywords) {
    // Amount protection yields to a keyword whose window holds nothing else: `код 4829 руб`.
    const hit =
      nearKeyword(text, unprotected, keyword.start, keyword.end) ??
      codeAfter(text, amounts, keyword.end);
    if (hit) masked.push(hit);
  }
  return masked;
}

/** What a person may not see of a folded text: e-mail addresses, phone numbers and codes, merged. */
function peopleSpans(text: string): Masked[] {
  const emails = spansOf(text, EMAIL);
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

/** Chains of digit groups that are phone numbers (see {@link redactForPeople}). */
function phoneSpans(text: string): Span[] {
  const groups: Atom[] = [...text.matchAll(/[0-9]+/g)].map((m) => ({
    start: m.index,
    end: m.index + m[0].length,
    text: m[0],
    kind: 'num',
  }));
  // Dates, times, decimals and numbers with thousands separators break a chain.
  const barrier = new Set<Atom>();
  for (const compound of compounds(text, groups)) {
    const first = compound[0]!;
    const last = compound[compound.length - 1]!;
    const kind = classify(text.slice(first.start, last.end), compound);
    const amount = kind === 'decimal' && compound[1]!.text.length <= 2; // `12345.67`
    if (kind === 'kept' || kind === 'shortDate' || amount) for (const g of compound) barrier.add(g);
  }
  const out: Span[] = [];
  let chain: Atom[] = [];
  const flush = () => {
    let parts = chain;
    chain = [];
    const first = parts[0];
    const last = parts[parts.length - 1];
    if (!first || !last) return;
    const amountFirst = isAmountBefore(text, first);
    const amountLast =
      isAmountAfter(text, last) || UNIT_AFTER.test(text.slice(last.end, last.end + 8));
    if (parts.length === 1 && (amountFirst || amountLast)) return;
    // `2 500 000 руб`, `€ 1 250 000`: the group next to the currency is an amount's, not a phone's.
    if (amountFirst) parts = parts.slice(1);
    if (amountLast && parts.length > 1) parts = parts.slice(0, -1);
    const digits = parts.reduce((n, g) => n + g.text.length, 0);
    if (digits < PHONE_MIN_DIGITS) return;
    let start = parts[0]!.start;
    if (text.charAt(start - 1) === '(') start--;
    if (text.charAt(start - 1) === '+') start--;
    out.push({ start, end: parts[parts.length - 1]!.end });
  };
  for (const group of groups) {
    const prev = chain[chain.length - 1];
    if (barrier.has(group)) {
      flush();
    } else if (prev && PHONE_GAP.test(text.slice(prev.end, group.start))) {
      chain.push(group);
    } else {
      flush();
      chain = [group];
    }
  }
  flush();
  return out;
}

function findCandidates(text: string, keywords: readonly Span[]): Candidate[] {
  const signatures = spansOf(text, SIGNATURE);
  const isProtected = (span: Span): Protection => protection(text, signatures, span);

  const atoms = splitGlued(
    [...text.matchAll(ATOM)].map((m) => atom(m[0], m.index)),
    keywords,
  );

  const groups = compounds(text, atoms);
  const candidates: Candidate[] = [];
  const single = (atom: Atom, fallback: boolean): Candidate => ({
    start: atom.start,
    end: atom.end,
    fallback: fallback && atom.text.length >= 4 && atom.text.length <= 8,
    keyword: atom.text.length >= 4 && atom.text.length <= 10,
    protected: isProtected(atom),
  });

  for (const compound of groups) {
    const first = compound[0];
    const last = compound[compound.length - 1];
    if (!first || !last) continue;
    if (first.kind === 'alnum') {
      const shaped =
        first.text.length >= 4 && first.text.length <= 12 && !NUMBER_WITH_UNIT.test(first.text);
      if (shaped) candidates.push({ ...single(first, false), keyword: true, fallback: false });
      continue;
    }
    if (first.kind === 'word') {
      // Letter-only codes (`Your code is: QXBTRA`) are trusted only next to a keyword.
      if (/^[A-Z]{4,8}$/.test(first.text)) {
        candidates.push({
          ...single(first, false),
          keyword: true,
          fallback: false,
          forwardOnly: true,
        });
      }
      continue;
    }
    const span = { start: first.start, end: last.end };
    switch (classify(text.slice(span.start, span.end), compound)) {
      case 'plain':
        candidates.push(single(first, true));
        break;
      case 'grouped':
        candidates.push({ ...span, fallback: true, keyword: true, protected: isProtected(span) });
        break;
      case 'shortDate':
        // `12-10-24` after "code" is more likely a code than a date.
        candidates.push({ ...span, fallback: false, keyword: true, protected: isProtected(span) });
        break;
      case 'decimal':
        // An amount when its context says so; otherwise its parts may be codes.
        for (const atom of compound) candidates.push(single(atom, !isProtected(span)));
        break;
      case 'mixed':
        for (const atom of compound) candidates.push(single(atom, true));
        break;
      case 'kept':
        break;
    }
  }
  const standalone = groups.flatMap((g) => (g.length === 1 ? g : []));
  candidates.push(...spacedGroups(text, standalone, isProtected));
  return candidates.sort((a, b) => a.start - b.start || b.end - a.end);
}

function atom(text: string, start: number): Atom {
  return {
    start,
    end: start + text.length,
    text,
    kind: DIGITS.test(text) ? 'num' : HAS_DIGIT.test(text) ? 'alnum' : 'word',
  };
}

// A keyword glued to its code (`OTP482913`, `code4829`, `4829code`) is split off it, so the code
// stands alone.
function splitGlued(atoms: readonly Atom[], keywords: readonly Span[]): Atom[] {
  return atoms.flatMap((a) => {
    if (a.kind !== 'alnum') return [a];
    const k = keywords.find(
      (k) => k.start >= a.start && k.end <= a.end && (k.start === a.start || k.end === a.end),
    );
    if (!k || (k.start === a.start && k.end === a.end)) return [a];
    const cut = k.start === a.start ? k.end : k.start;
    const at = cut - a.start;
    return splitGlued([atom(a.text.slice(0, at), a.start), atom(a.text.slice(at), cut)], keywords);
  });
}

// Consecutive numeric atoms joined by one separator form a compound (a date, an amount, a
// grouped code); every other atom stands alone.
function compounds(text: string, atoms: readonly Atom[]): Atom[][] {
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

type CompoundClass = 'plain' | 'grouped' | 'shortDate' | 'decimal' | 'mixed' | 'kept';

function classify(ascii: string, parts: readonly Atom[]): CompoundClass {
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

function isYearAfterMonth(text: string, span: Span): boolean {
  const year = Number(text.slice(span.start, span.end));
  return (
    span.end - span.start === 4 &&
    year >= 1900 &&
    year <= 2099 &&
    MONTH_BEFORE.test(text.slice(Math.max(0, span.start - 24), span.start))
  );
}

// `123 456`, `12 34 56`, `3 8 2 9`: standalone digit groups separated by single spaces. Only
// trusted next to a keyword, since numbers in a row are common in ordinary text.
function spacedGroups(
  text: string,
  atoms: readonly Atom[],
  isProtected: (span: Span) => Protection,
): Candidate[] {
  const out: Candidate[] = [];
  for (let i = 0; i < atoms.length; i++) {
    let digits = 0;
    let j = i;
    for (; j < atoms.length; j++) {
      const atom = atoms[j];
      const prev = atoms[j - 1];
      if (!atom || atom.kind !== 'num' || atom.text.length > 4) break;
      if (j > i && (!prev || atom.start !== prev.end + 1 || text.charAt(prev.end) !== ' ')) break;
      digits += atom.text.length;
    }
    const first = atoms[i];
    const last = atoms[j - 1];
    if (j - i >= 2 && digits >= 4 && digits <= 8 && first && last) {
      const span = { start: first.start, end: last.end };
      out.push({ ...span, fallback: false, keyword: true, protected: isProtected(span) });
    }
  }
  return out;
}

function nearKeyword(
  text: string,
  usable: readonly Candidate[],
  kwStart: number,
  kwEnd: number,
): Span | undefined {
  const after = usable.find((c) => {
    if (c.start < kwEnd || c.start - kwEnd > KEYWORD_WINDOW) return false;
    const gap = text.slice(kwEnd, c.start);
    return c.forwardOnly ? DIRECTLY_AFTER.test(gap) : !SENTENCE_BREAK.test(gap);
  });
  if (after) return after;
  let before: Candidate | undefined;
  for (const c of usable) {
    if (c.end > kwStart) break;
    if (c.forwardOnly) continue;
    if (kwStart - c.end <= KEYWORD_WINDOW && !SENTENCE_BREAK.test(text.slice(c.end, kwStart))) {
      if (!before || c.end > before.end || (c.end === before.end && c.start < before.start)) {
        before = c;
      }
    }
  }
  return before;
}

// The first amount-protected candidate right after a keyword, in its window and sentence.
function codeAfter(text: string, amounts: readonly Candidate[], kwEnd: number): Span | undefined {
  return amounts.find(
    (c) =>
      c.start >= kwEnd &&
      c.start - kwEnd <= KEYWORD_WINDOW &&
      !SENTENCE_BREAK.test(text.slice(kwEnd, c.start)),
  );
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
