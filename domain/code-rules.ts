/**
 * The code rules of `maskCodes` (domain/masking.ts) on a folded text: keywords in many
 * languages, the window and sentence around each, the code-shaped tokens next to them, and the
 * standalone digit runs masked without a keyword; amounts, counts, dates and the `【signature】` are
 * protected.
 */
import {
  atom,
  classify,
  compounds,
  isAmountAfter,
  isAmountBefore,
  isUnitAfter,
  isYearAfterMonth,
  spansOf,
  type Atom,
  type Span,
} from './number-shapes';

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
const NUMBER_WITH_UNIT =
  /^\d+(?:ms|s|secs?|mins?|h|hrs?|d|days?|gb|mb|kb|km|kg|am|pm|st|nd|rd|th|x|k|m)$/i;

/** What protects a span of the folded text from masking, if anything. */
function protection(text: string, signatures: readonly Span[], span: Span): Protection {
  if (signatures.some((s) => span.start >= s.start && span.end <= s.end)) return 'other';
  if (isAmountBefore(text, span) || isAmountAfter(text, span)) return 'amount';
  if (isUnitAfter(text, span) || isYearAfterMonth(text, span)) return 'other';
  return undefined;
}

/** The code spans of a folded text. */
export function codeSpans(text: string): Span[] {
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
