/**
 * `npm run -s mask-codes`: reads message bodies one per line on stdin and writes each with its
 * one-time codes masked (domain/masking.ts), so operators can check the rules on real samples.
 */
import { createInterface } from 'node:readline';
import { maskCodes } from '../domain/masking';

async function main() {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) process.stdout.write(`${maskCodes(line)}\n`);
}

void main();
