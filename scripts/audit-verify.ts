import { parseArgs } from 'node:util';
import { createDbPool } from '../clients/db';
import { loadConfig } from '../config/config';
import { verifyAuditChain, type AuditHead } from '../db/audit';

/**
 * `npm run audit:verify [-- --anchor <seq>:<hash>] [--schema <name>]`: recomputes the audit log's hash
 * chain. Exit 0 when it holds, 1 when it is broken, 2 when it could not be checked. `--anchor` is a
 * head recorded earlier outside the database; it also catches a removed tail.
 */
async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { anchor: { type: 'string' }, schema: { type: 'string' } },
  });
  let anchor: AuditHead | undefined;
  if (values.anchor !== undefined) {
    const match = /^(\d+):([0-9a-f]{64})$/.exec(values.anchor);
    if (!match) {
      process.stderr.write('--anchor must be <seq>:<64 hex digits>\n');
      return 2;
    }
    anchor = { seq: Number(match[1]), hash: match[2]! };
  }
  const db = createDbPool(loadConfig().database, 'audit-verify');
  try {
    const result = await verifyAuditChain(db, { schema: values.schema, anchor });
    if (result.ok) {
      const head = result.head ? `${result.head.seq} ${result.head.hash}` : 'none';
      process.stdout.write(`audit chain OK: ${result.entries} entries, head ${head}\n`);
      return 0;
    }
    process.stdout.write(`audit chain BROKEN at seq ${result.brokenAtSeq}: ${result.reason}\n`);
    return 1;
  } finally {
    await db.end();
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`audit verify failed: ${err.message}\n`);
    process.exit(2);
  },
);
