/**
 * Opt-out keywords in mobile-originated messages. Pure: the MO handler (inbound/mo-inbox.ts) decides
 * with this whether a text opts its sender out, before anything is stored.
 */

/** Case- and width-insensitive form of a keyword or text: NFKC, upper case, trimmed. */
const fold = (s: string) => s.normalize('NFKC').toUpperCase().trim();

/**
 * True when `text` is an opt-out: the whole text, or its first word, is one of `keywords`
 * (`STOP`, `stop please`, `Ｓｔｏｐ`, `退订`, `TD`), ignoring case, full-width forms and trailing
 * punctuation. A keyword inside a longer sentence ("don't stop") is not an opt-out.
 */
export function isOptOutText(text: string, keywords: readonly string[]): boolean {
  const folded = fold(text).replace(/[\s\p{P}]+$/u, '');
  if (!folded) return false;
  const set = new Set(keywords.map(fold));
  if (set.has(folded)) return true;
  const first = folded.split(/[\s\p{P}]+/u)[0] ?? '';
  return set.has(first);
}
