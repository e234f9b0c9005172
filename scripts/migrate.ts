import { join } from 'node:path';
import { loadConfig } from '../config/config';
import { ROOT_DIR } from '../config/paths';

/** Applies every pending migration in db/migrations (node-pg-migrate, advisory-locked, idempotent). */
export async function migrate(
  log: (s: string) => void = (s) => process.stderr.write(`${s}\n`),
  databaseUrl = loadConfig().database.url,
) {
  const { runner } = await import('node-pg-migrate'); // ESM-only package
  const applied = await runner({
    databaseUrl,
    dir: join(ROOT_DIR, 'db', 'migrations'),
    direction: 'up',
    migrationsTable: 'pgmigrations',
    count: Infinity,
    // Migrations are numbered in ranges per line of work, which land on main in any order: one may
    // come after a later-numbered one was applied. Each is independent of the others' tables, so
    // pending ones are applied (in name order) instead of refused as out of order.
    checkOrder: false,
    log: () => undefined,
    verbose: false,
  });
  log(
    applied.length
      ? `migrated: ${applied.map((m) => m.name).join(', ')}`
      : 'migrations: up to date',
  );
}

if (require.main === module) {
  migrate().catch((err: Error) => {
    process.stderr.write(`migration failed: ${err.message}\n`);
    process.exit(1);
  });
}
