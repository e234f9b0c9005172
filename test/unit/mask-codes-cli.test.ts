import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
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
