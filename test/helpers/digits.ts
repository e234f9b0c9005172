/**
 * Every Unicode decimal digit script (`\p{Nd}`), by its zero, so tests can write a number in any of
 * them. Unicode assigns `\p{Nd}` in runs of ten, zero to nine; some runs are longer blocks of tens
 * (mathematical digits), each a script of its own here.
 */
export const DIGIT_ZEROS: readonly number[] = (() => {
  const nd = (cp: number) => /^\p{Nd}$/u.test(String.fromCodePoint(cp));
  const zeros: number[] = [];
  for (let cp = 0; cp < 0x20000; cp++) {
    if (!nd(cp) || nd(cp - 1)) continue;
    for (let z = cp; nd(z); z += 10) zeros.push(z);
  }
  return zeros;
})();

/** A few scripts every test names: Arabic-Indic, Persian, Devanagari, full-width. */
export const SCRIPTS = { arabic: 0x0660, persian: 0x06f0, devanagari: 0x0966, fullwidth: 0xff10 };

/** ASCII digits in `text` written in the script whose zero is `zero`. */
export const inScript = (text: string, zero: number): string =>
  text.replace(/[0-9]/g, (d) => String.fromCodePoint(zero + Number(d)));

/** `text` in every digit script, ASCII first, each once. */
export const inEveryScript = (text: string): string[] => [
  ...new Set([text, ...DIGIT_ZEROS.map((z) => inScript(text, z))]),
];
