/**
 * Masking of one-time codes in message bodies, and redaction of free text (carrier errors,
 * log lines) that may carry phone numbers or codes.
 *
 * Reviewers and operators need to read a message to judge it (who sent it, how long it is
 * valid, what it costs), but must never be able to use the code in it. The rules therefore
 * err on the side of masking: a number that merely looks like a code is hidden, unless it is
 * clearly an amount, a duration, a date or a time, or part of the sender signature.
 */

/**
 * What replaces a code. Always four bullets, whatever the code's length or shape, so the mask
 * does not reveal how long the code was.
 */
export const CODE_MASK = '••••';

/** What replaces a phone number in {@link redactFreeText}. */
export const NUMBER_MASK = '[number]';

/**
 * Masks the one-time codes in a message body and keeps everything else readable.
 *
 * Two rules, both skipping amounts (`¥100`, `$1,234.56`, `1000元`, `USD 2500`), durations and
 * other counts (`5分钟`, `10 minutes`, `15%`), dates and times (`2024-05-12`, `12:30`,
 * `May 12, 2024`, `2024年`) and anything inside a `【signature】`:
 * - next to a keyword (验证码, 动态码, 密码, code, OTP, PIN, password, verification, …): the
 *   first code-shaped token after it within the same sentence, else the nearest one before
 *   it. Code-shaped here means 4–10 digits, digit groups (`12-34-56`, `123 456`), 4–12
 *   letters and digits with at least one digit (`AB12CD`); 4–8 capital letters only directly
 *   after the keyword (`code: QXBTRA`, `code is QXBTRA`), since capitals are also brand names.
 * - anywhere: every standalone run of 4–8 digits, and hyphenated digit groups of 4–8 digits
 *   (`G-123456` becomes `G-••••`), since plenty of codes come without a keyword.
 *
 * Consequences a caller should know: a bare year, a bank hotline such as `95588` or the last
 * four digits of a card are masked too; numbers of 9+ digits (phone numbers) are left to
 * {@link redactFreeText}. The function is idempotent.
 */
export function maskCodes(text: string): string {
  const candidates = findCandidates(text);
  const masked: Span[] = candidates.filter((c) => c.fallback && !c.protected);
  const keywords = [...text.matchAll(KEYWORD)].map((m) => ({
    start: m.index,
    end: m.index + m[0].length,
  }));
  // A keyword written in capitals (`CODE`) is not itself a code.
  const usable = candidates.filter(
    (c) => c.keyword && !c.protected && !keywords.some((k) => c.start < k.end && k.start < c.end),
  );
  for (const keyword of keywords) {
    const hit = nearKeyword(text, usable, keyword.start, keyword.end);
    if (hit) masked.push(hit);
  }
  return replaceSpans(text, masked, CODE_MASK);
}

/**
 * Redacts a free-text string we did not write (a carrier error message, an exception text)
 * before it reaches a log line, a metric, an error or a failure message: every phone-number
 * -like run of 7 or more digits (a leading `+`, spaces, dashes and parentheses allowed inside)
 * becomes `[number]`, then {@link maskCodes} masks codes.
 *
 * Message ids (`msg_<ulid>`), UUIDs (Temporal run ids), ISO-8601 timestamps, hex literals
 * (SMPP command_status) and IPv4 addresses are kept whole, so the redacted line can still be correlated. Lossy
 * by design: other 4–8 digit numbers in the text (ports, error numbers) may be masked as
 * codes.
 */
export function redactFreeText(text: string): string {
  return text
    .split(PRESERVED)
    .map((piece, i) =>
      i % 2 === 1 ? piece : maskCodes(piece.replace(PHONE_LIKE, () => NUMBER_MASK)),
    )
    .join('');
}

interface Span {
  start: number;
  end: number;
}

interface Candidate extends Span {
  /** Masked even without a keyword nearby. */
  fallback: boolean;
  /** Masked when a keyword is nearby. */
  keyword: boolean;
  /** An amount, a count with a unit, a date, or inside the signature: never masked. */
  protected: boolean;
  /** Only right after a keyword (`code is X`), so `ACME: your code expires soon` keeps `ACME`. */
  forwardOnly?: boolean;
}

interface Atom extends Span {
  text: string;
  kind: 'num' | 'alnum' | 'word';
}

const DIGITS = /^[0-9\uff10-\uff19]+$/;
const HAS_DIGIT = /[0-9\uff10-\uff19]/;
const ATOM = /[A-Za-z0-9\uff10-\uff19]+/g;
const SIGNATURE = /【[^【】]*】/g;
const SENTENCE_BREAK = /[。！？!?；;\n]/;
const KEYWORD_WINDOW = 32;
// What may stand between a keyword and a letter-only code: `code QXBTRA`, `code is: QXBTRA`.
const DIRECTLY_AFTER = /^\s*(?:is|was|=|为|是)?\s*[:：=]?\s*$/i;

const KEYWORD = new RegExp(
  [
    '验证码|校验码|动态码|动态密码|确认码|激活码|安全码|授权码|认证码|随机码|识别码|登录码|短信码',
    '取件码|取货码|提货码|口令|密码|验证',
    '認証コード|確認コード|コード|인증번호|코드|код|código|codigo',
    '(?<![A-Za-z])(?:one[- ]time (?:code|password|pin)|verification|verify|passcode|passwords?' +
      '|codes?|otp|pin|2fa|token|kode|kod)(?![A-Za-z])',
  ].join('|'),
  'gi',
);

const CURRENCY_BEFORE =
  /(?:[$¥￥€£₹₩₽₺₫฿₱₦₴₪]|(?<![A-Za-z])(?:USD|EUR|GBP|CNY|RMB|JPY|HKD|INR|AUD|CAD|SGD|CHF|Rs\.?)|人民币)\s?$/i;
const UNIT_AFTER = new RegExp(
  '^\\s?(?:分钟|分(?![享别配发开析])|秒|小时|天(?!猫)|日|号|月|年|周|元|块|角|万|亿|千|百|次|个|人|条|件|份|位|岁|%|％|米|公里|公斤|克|斤' +
    '|(?:ms|s|secs?|seconds?|mins?|minutes?|h|hrs?|hours?|days?|weeks?|months?|years?|yrs?' +
    '|am|pm|usd|eur|gbp|cny|rmb|jpy|km|kg|gb|mb|kb|pts|points|miles)(?![A-Za-z]))',
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
const PHONE_LIKE = /(?<![0-9])\+?\(?[0-9](?:[ \t\-()]{0,2}[0-9]){6,}(?![0-9])/g;

function findCandidates(text: string): Candidate[] {
  const signatures = [...text.matchAll(SIGNATURE)].map((m) => ({
    start: m.index,
    end: m.index + m[0].length,
  }));
  const isProtected = (span: Span): boolean =>
    signatures.some((s) => span.start >= s.start && span.end <= s.end) ||
    CURRENCY_BEFORE.test(text.slice(Math.max(0, span.start - 8), span.start)) ||
    UNIT_AFTER.test(text.slice(span.end, span.end + 8)) ||
    isYearAfterMonth(text, span);

  const atoms: Atom[] = [...text.matchAll(ATOM)].map((m) => ({
    start: m.index,
    end: m.index + m[0].length,
    text: m[0],
    kind: DIGITS.test(m[0]) ? 'num' : HAS_DIGIT.test(m[0]) ? 'alnum' : 'word',
  }));

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
    switch (classify(toAscii(text.slice(span.start, span.end)), compound)) {
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
  const year = Number(toAscii(text.slice(span.start, span.end)));
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
  isProtected: (span: Span) => boolean,
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

function replaceSpans(text: string, spans: readonly Span[], mask: string): string {
  const sorted = [...spans].sort((a, b) => a.start - b.start || b.end - a.end);
  let out = '';
  let cursor = 0;
  for (const span of sorted) {
    if (span.end <= cursor) continue;
    out += text.slice(cursor, Math.max(cursor, span.start));
    if (span.start >= cursor) {
      out += mask;
    }
    cursor = span.end;
  }
  return out + text.slice(cursor);
}

function toAscii(s: string): string {
  return s.replace(/[\uff10-\uff19]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0));
}
