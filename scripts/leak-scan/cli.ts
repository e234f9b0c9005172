/** The command line: reads the needles file, scans logs, Temporal and the database, prints the findings. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createDbPool } from '../../clients/db';
import { temporalConnectionOptions } from '../../clients/temporal';
import { loadConfig } from '../../config/config';
import { findLogFiles } from './logs';
import { expandNeedles } from './needles';
import { scanForLeaks } from './scan';

interface CliArgs {
  needlesFile: string;
  query?: string;
  logsDir: string;
  excludeTables: string[];
}

function parseArgs(argv: readonly string[]): CliArgs {
  const args: Partial<CliArgs> & { excludeTables: string[] } = { excludeTables: [] };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--needles-file') args.needlesFile = value;
    else if (flag === '--query') args.query = value;
    else if (flag === '--logs-dir') args.logsDir = value;
    else if (flag === '--exclude-table') args.excludeTables.push(value);
    else throw new Error(`unknown argument ${flag}`);
    i++;
  }
  if (!args.needlesFile) throw new Error('--needles-file <file.json> is required');
  return { logsDir: resolve('.data/logs'), ...args, needlesFile: args.needlesFile };
}

export async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  const raw: unknown = JSON.parse(readFileSync(args.needlesFile, 'utf8'));
  if (!Array.isArray(raw) || !raw.every((n): n is string => typeof n === 'string')) {
    throw new Error('the needles file must hold a JSON array of strings');
  }
  const needles = expandNeedles(raw);
  const config = loadConfig();
  // A client without a data converter of ours: the scanner reads what Temporal stores. Connected as
  // the app connects (TLS, mTLS or an API key when configured), so it can scan a production Temporal.
  const connection = await Connection.connect(temporalConnectionOptions(config));
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const db = createDbPool(config.database, 'sms-leak-scan');
  const started = Date.now();
  try {
    const findings = await scanForLeaks({
      needles,
      logFiles: findLogFiles(args.logsDir),
      temporal: { client, query: args.query },
      db,
      excludeTables: args.excludeTables,
    });
    for (const f of findings) process.stdout.write(`${JSON.stringify(f)}\n`);
    process.stderr.write(
      `leak-scan: ${findings.length} finding(s), ${needles.length} needle(s), ${Date.now() - started} ms\n`,
    );
    return findings.length > 0 ? 1 : 0;
  } finally {
    await connection.close();
    await db.end();
  }
}
