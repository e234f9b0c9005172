/**
 * `npm run -s mask-codes`: reads message bodies one per line on stdin and writes each with its
 * one-time codes masked (`maskCodes`, domain/masking.ts), so operators can check the rules on
 * real samples.
 *
 * `npm run -s mask-codes -- --view review`: writes each line exactly as a review task stores it
 * (and as the codec server and log lines show a body): `redactForPeople`, which also replaces
 * phone numbers and e-mail addresses.
 */
import { createInterface } from 'node:readline';
import { maskCodes, redactForPeople } from '../domain/masking';

/** What each view applies to a line. */
const VIEWS: Record<string, (line: string) => string> = {
  codes: maskCodes,
  review: redactForPeople,
};

function viewOf(argv: readonly string[]): (line: string) => string {
  if (argv.length === 0) return maskCodes;
  const name = argv[0] === '--view' ? argv[1] : undefined;
  const view = name === undefined ? undefined : VIEWS[name];
  if (!view || argv.length !== 2) {
    process.stderr.write(`usage: mask-codes [--view ${Object.keys(VIEWS).join('|')}]\n`);
    process.exit(2);
  }
  return view;
}

async function main() {
  const view = viewOf(process.argv.slice(2));
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) process.stdout.write(`${view(line)}\n`);
}

void main();
