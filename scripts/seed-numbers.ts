/**
 * The sender numbers the seeds put in their pools: the dev seed's `demo` tenant (scripts/dev-seed.ts),
 * the test pipeline's tenants (test/helpers/pipeline.ts) and the bench's (scripts/bench/setup.ts). All are
 * valid numbers for libphonenumber (test/unit/seed-numbers.test.ts checks them), in the UK's 070
 * personal-numbering range, so the pool code is exercised with numbers of the shape real pools hold.
 * (The drama range +44 7700 900xxx is not valid for libphonenumber: the API keeps it for its test
 * recipients, domain/test-numbers.ts.)
 */

/** The purposes every seeded tenant gets a pool for. */
export const SEEDED_PURPOSES = ['otp', 'transactional', 'marketing'] as const;
export type SeededPurpose = (typeof SEEDED_PURPOSES)[number];

/** Last digit of a test pipeline's sender numbers, per purpose (tests match `+4470000000<i>3` for OTP). */
const TEST_SUFFIX: Record<SeededPurpose, number> = { otp: 3, transactional: 5, marketing: 9 };

/** The `demo` tenant's three senders for `purpose`: +44 7000 9000 <purpose 1-3><1-3>. */
export function demoSenderNumbers(purpose: SeededPurpose): string[] {
  const p = SEEDED_PURPOSES.indexOf(purpose) + 1;
  return [1, 2, 3].map((i) => `+4470009000${p}${i}`);
}

/** The numbers the dev seed gave the `demo` pools before they were valid (13 digits for transactional); the seed removes them. */
export const RETIRED_DEMO_NUMBERS: readonly string[] = SEEDED_PURPOSES.flatMap((purpose) =>
  [1, 2, 3].map((i) => `+4477009000${purpose.length}${i}`),
);

/** A test tenant's three senders for `purpose`: +44 7000 0000 <0-2><suffix>. */
export function testSenderNumbers(purpose: SeededPurpose): string[] {
  return [0, 1, 2].map((i) => `+4470000000${i}${TEST_SUFFIX[purpose]}`);
}

/** A bench tenant's `count` senders (at most 100,000): +44 7009 0xxxxx. */
export function benchSenderNumbers(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `+4470090${String(i).padStart(5, '0')}`);
}
