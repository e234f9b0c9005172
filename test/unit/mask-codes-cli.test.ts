import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { CODE_MASK, EMAIL_MASK, NUMBER_MASK, redactForPeople } from '../../domain/masking';
import { seeds } from '../helpers/seeds';

const root = join(__dirname, '..', '..');

test('npm run -s mask-codes masks every seed code and keeps the numbers that must survive', () => {
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', join(root, 'scripts/mask-codes.ts')],
    {
      input: seeds.map((s) => s.text).join('\n') + '\n',
      encoding: 'utf8',
    },
  )
    .trimEnd()
    .split('\n');
  expect(out).toHaveLength(seeds.length);
  seeds.forEach((s, i) => {
    expect(out[i]).not.toContain(s.code);
    expect(out[i]).toContain(`【${s.sender_signature}】`);
    for (const n of s.numbers_to_keep) expect(out[i]).toContain(n);
  });
});

test('npm run -s mask-codes -- --view review prints what a review task stores: redactForPeople of each line', () => {
  const lines = [
    ...seeds.map((s) => s.text),
    '收件人电话 13912345680 ，请尽快取件',
    'Confirme al 600 123 456, código ٤٨٢٩١٣',
    'Write to ana@example.com, OTP482913, pay 2500 руб by 2024-05-12 10:30',
  ];
  const run = (args: string[]) =>
    execFileSync(
      process.execPath,
      ['--import', 'tsx', join(root, 'scripts/mask-codes.ts'), ...args],
      {
        input: lines.join('\n') + '\n',
        encoding: 'utf8',
      },
    )
      .trimEnd()
      .split('\n');
  const out = run(['--view', 'review']);
  expect(out).toEqual(lines.map(redactForPeople));
  expect(out.slice(-3)).toEqual([
    `收件人电话 ${NUMBER_MASK} ，请尽快取件`,
    `Confirme al ${NUMBER_MASK}, código ${CODE_MASK}`,
    `Write to ${EMAIL_MASK}, OTP${CODE_MASK}, pay 2500 руб by 2024-05-12 10:30`,
  ]);
  // The plain view masks codes only.
  expect(run([]).slice(-1)).toEqual([
    `Write to ana@example.com, OTP${CODE_MASK}, pay 2500 руб by 2024-05-12 10:30`,
  ]);
});
