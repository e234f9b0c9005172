/** Matching texts against the needles, and collecting findings that never repeat what they found. */
import { foldText, maskNeedle, MIN_NEEDLE_LENGTH } from './needles';
import type { LeakFinding, LeakWhere } from './types';

/** Matches texts against the needles; a needle inside a longer matched one is not reported twice. */
export class Matcher {
  /** Indices of the needles, longest first. */
  private readonly order: number[];
  /** The needles folded ({@link foldText}): what is searched for. */
  readonly folded: readonly string[];

  constructor(readonly needles: readonly string[]) {
    needles.forEach((n, i) => {
      if (typeof n !== 'string' || n.length < MIN_NEEDLE_LENGTH) {
        throw new RangeError(
          `scanForLeaks: needle #${i} is shorter than ${MIN_NEEDLE_LENGTH} characters`,
        );
      }
    });
    this.folded = needles.map(foldText);
    this.order = needles.map((_, i) => i).sort((a, b) => needles[b]!.length - needles[a]!.length);
  }

  /** Needle indices found in the text or in what its base64 runs decode to, in any digit form. */
  find(text: string): number[] {
    const found = new Set<number>();
    for (const candidate of withDecodedBase64(text)) {
      const folded = foldText(candidate);
      for (const i of this.order) if (folded.includes(this.folded[i]!)) found.add(i);
    }
    return this.keepLongest(found);
  }

  /** Drops needles that are substrings of another found needle (`7400123456` in `+447400123456`). */
  keepLongest(found: Iterable<number>): number[] {
    const all = [...found];
    return all.filter(
      (i) => !all.some((j) => j !== i && this.folded[j]!.includes(this.folded[i]!)),
    );
  }

  /** A location (read folded) with every needle in it masked. */
  scrub(location: string): string {
    let out = foldText(location);
    for (const i of this.order) out = out.split(this.folded[i]!).join(maskNeedle(this.needles[i]!));
    return out;
  }
}

const BASE64_RUN = /[A-Za-z0-9+/]{8,}={0,2}/g;
const MAX_DECODE_DEPTH = 2;

/**
 * The text itself, plus what each run of base64 in it decodes to (read as UTF-8), twice over:
 * payload bytes are base64 in history JSON, and a payload may itself hold base64.
 */
function withDecodedBase64(text: string, depth = 0): string[] {
  const out = [text];
  if (depth >= MAX_DECODE_DEPTH) return out;
  for (const [run] of text.matchAll(BASE64_RUN)) {
    const decoded = Buffer.from(run, 'base64').toString('utf8');
    if (decoded.length > 0) out.push(...withDecodedBase64(decoded, depth + 1));
  }
  return out;
}

export class Findings {
  private readonly byKey = new Map<string, LeakFinding>();

  constructor(private readonly matcher: Matcher) {}

  check(text: string, where: LeakWhere, location: string): void {
    for (const i of this.matcher.find(text)) this.add(where, location, i);
  }

  add(where: LeakWhere, location: string, needleIndex: number): void {
    const finding: LeakFinding = {
      where,
      location: this.matcher.scrub(location),
      needle: maskNeedle(this.matcher.needles[needleIndex]!),
      needleIndex,
    };
    this.byKey.set(`${where}\u0000${finding.location}\u0000${needleIndex}`, finding);
  }

  list(): LeakFinding[] {
    return [...this.byKey.values()];
  }
}
