/**
 * `npm start` runs this: gives the local stack a `demo` tenant a newcomer can send with at once —
 * a sender pool per purpose and an API key (sender + admin) kept in `.data/dev-api-key.json` (0600)
 * and reused while it is valid. Idempotent; for development only.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDbPool } from '../clients/db';
import { loadConfig } from '../config/config';
import { DATA_DIR } from '../config/paths';
import { hashApiKey } from '../api/plugins/auth';
import { createApiKey } from './keys';
import { demoSenderNumbers, RETIRED_DEMO_NUMBERS, SEEDED_PURPOSES } from './seed-numbers';

const TENANT = 'demo';
const KEY_FILE = join(DATA_DIR, 'dev-api-key.json');

async function main() {
  const db = createDbPool(loadConfig().database, 'sms-dev-seed');
  try {
    // Earlier seeds gave the demo pools numbers that are not valid (scripts/seed-numbers.ts).
    await db.query(
      `delete from pool_numbers where pool_id like 'pool_demo_%' and number = any($1)`,
      [RETIRED_DEMO_NUMBERS],
    );
    for (const purpose of SEEDED_PURPOSES) {
      const id = `pool_demo_${purpose}`;
      await db.query(
        `insert into number_pools (id, tenant, name, country, purpose, strategy) values ($1, $2, $3, null, $4, 'lru') on conflict do nothing`,
        [id, TENANT, `demo-${purpose}`, purpose],
      );
      for (const number of demoSenderNumbers(purpose)) {
        await db.query(
          `insert into pool_numbers (pool_id, number, rate_per_second) values ($1, $2, 10) on conflict do nothing`,
          [id, number],
        );
      }
    }
    // The demo tenant's price list for the local simulators (per segment; any destination). Not the
    // platform's ('*'): that would price every tenant on this database, the tests' too.
    await db.query(
      `delete from carrier_prices where tenant = '*' and carrier in ('smsc-a', 'http-a') and country = '*'
          and price_per_segment in (0.04, 0.05)`,
    );
    for (const [carrier, price] of [
      ['smsc-a', '0.0400'],
      ['http-a', '0.0500'],
    ] as const) {
      await db.query(
        `insert into carrier_prices (tenant, carrier, country, price_per_segment) values ($1, $2, '*', $3) on conflict do nothing`,
        [TENANT, carrier, price],
      );
    }
    let secret: string | undefined;
    if (existsSync(KEY_FILE)) {
      const saved = JSON.parse(readFileSync(KEY_FILE, 'utf8')) as { secret: string };
      const { rowCount } = await db.query(
        'select 1 from api_keys where key_hash = $1 and revoked_at is null',
        [hashApiKey(saved.secret)],
      );
      if (rowCount) secret = saved.secret;
    }
    if (!secret) {
      const key = await createApiKey(db, TENANT, ['sender', 'admin'], 'npm start dev key');
      writeFileSync(KEY_FILE, JSON.stringify({ id: key.id, secret: key.secret }), { mode: 0o600 });
      secret = key.secret;
    }
    process.stdout.write(secret);
  } finally {
    await db.end();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`dev seed failed: ${err.message}\n`);
  process.exit(1);
});
