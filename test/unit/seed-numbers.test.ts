import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isValidPhoneNumber } from 'libphonenumber-js/max';
import { TEST_NUMBERS } from '../../domain/test-numbers';
import {
  benchSenderNumbers,
  demoSenderNumbers,
  RETIRED_DEMO_NUMBERS,
  SEEDED_PURPOSES,
  testSenderNumbers,
} from '../../scripts/seed-numbers';

const root = join(__dirname, '..', '..');

/** The seeds and fixtures: every number written in them must be a valid one. */
const SEED_FILES = [
  'scripts/dev-seed.ts',
  'scripts/seed-numbers.ts',
  'scripts/docs-screenshots.ts',
  'db/docker-init.sql',
  'docker-compose.yml',
  ...['test/helpers', 'test/fixtures', 'test/integration/fixtures'].flatMap((dir) =>
    readdirSync(join(root, dir))
      .map((f) => `${dir}/${f}`)
      .filter((f) => statSync(join(root, f)).isFile()),
  ),
];

/** E.164 literals; a prefix continued by a template (`+4470000000${i}`) is not a number yet. */
const E164 = /\+[1-9][0-9]{6,15}(?![0-9$])/g;

describe('numbers in seeds and fixtures', () => {
  test('every sender number a seed generates is valid', () => {
    const generated = [
      ...SEEDED_PURPOSES.flatMap((p) => [...demoSenderNumbers(p), ...testSenderNumbers(p)]),
      ...benchSenderNumbers(10),
    ];
    expect(generated.filter((n) => !isValidPhoneNumber(n))).toEqual([]);
    expect(new Set(generated).size).toBe(generated.length);
  });

  test('the retired demo numbers are the invalid ones (the check catches them)', () => {
    expect(RETIRED_DEMO_NUMBERS).toContain('+4477009000131');
    expect(RETIRED_DEMO_NUMBERS.filter((n) => isValidPhoneNumber(n))).toEqual([]);
  });

  test('every number written in a seed or fixture file is valid (or a documented test number)', () => {
    const invalid: string[] = [];
    let seen = 0;
    for (const file of SEED_FILES) {
      if (file === 'scripts/seed-numbers.ts') continue; // its literals are the retired ones, checked above
      for (const [n] of readFileSync(join(root, file), 'utf8').matchAll(E164)) {
        seen++;
        if (!isValidPhoneNumber(n) && !(n in TEST_NUMBERS)) invalid.push(`${file}: ${n}`);
      }
    }
    expect(invalid).toEqual([]);
    expect(seen).toBeGreaterThan(0);
  });
});
