import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One real-world OTP sample (a copy of ../shared/seed/otp-messages.jsonl lives in test/fixtures). */
export interface Seed {
  text: string;
  code: string;
  sender_signature: string;
  numbers_to_keep: string[];
}

export const seeds: Seed[] = readFileSync(join(__dirname, '../fixtures/otp-messages.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Seed);
