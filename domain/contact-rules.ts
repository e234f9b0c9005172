/**
 * The phone-number and e-mail rules of `redactForPeople` (domain/masking.ts) on a folded
 * text.
 */
import {
  classify,
  compounds,
  isAmountAfter,
  isAmountBefore,
  isUnitAfter,
  spansOf,
  type Atom,
  type Span,
} from './number-shapes';

const EMAIL = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g;
/** What may join two digit groups of one phone number: `600 123`, `123-45`, `(0)20`, `030/123`, `06.12`. */
const PHONE_GAP = /^(?: ?[-/] ?| |\.| ?\( ?|\) ?(?:[-/] ?)?)$/;
/** Digits from which a chain of groups is a phone number (a short local number has 7). */
const PHONE_MIN_DIGITS = 7;

/** The e-mail addresses of a folded text. */
export function emailSpans(text: string): Span[] {
  return spansOf(text, EMAIL);
}

/** Chains of digit groups that are phone numbers (the rule is described at `redactForPeople`). */
export function phoneSpans(text: string): Span[] {
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
    const amountLast = isAmountAfter(text, last) || isUnitAfter(text, last);
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
