/**
 * The leak scanner: looks for plaintext personal data (phone numbers in every written form,
 * one-time codes) where invariant 1 says it must never be — log files, Temporal's own storage
 * read raw (workflow ids, search attributes, memos, every history event, no codec involved),
 * every text-like column of the database, and any documents a test collected (review tasks, the
 * reviewer page's HTML, the codec server's output, status callbacks).
 *
 * A needle matches in every digit form and spacing: needles and texts are both read folded
 * (`foldForMatching`: every Unicode decimal digit as ASCII, any run of spaces as one space, any dash
 * as `-`), so the code `482913` is also found as `٤٨٢٩١٣`, `۴۸۲۹۱۳`, `४८२९१३` or `４８２９１３`, and
 * `600 123 456` with no-break or thin spaces between its groups.
 *
 * Findings never repeat what they found: the needle is masked (`+44…`) and identified by its
 * index in the `needles` array, and locations that could contain it (workflow ids) are scrubbed.
 *
 * CLI: `tsx scripts/leak-scan.ts --needles-file needles.json [--query "WorkflowId = '…'"]
 * [--logs-dir .data/logs] [--exclude-table name]…`; E.164 needles in the file are expanded with
 * {@link needleVariants}. Exit code 1 when anything is found, 2 when the scan could not run.
 */
import { createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { Pool } from 'pg';
import { createDbPool } from '../clients/db';
import { loadConfig } from '../config/config';
import { foldForMatching, foldingTable, redactFreeText } from '../domain/masking';

/** Where a needle was found. */
export type LeakWhere =
  | 'log'
  | 'temporal-history'
  | 'search-attribute'
  | 'memo'
  | 'workflow-id'
  | 'database'
  | 'review-task'
  | 'review-page'
  | 'codec-output'
  | 'callback';

/** A text a caller collected from a place people see (a review task, a page, a callback body). */
export interface LeakDocument {
  where: LeakWhere;
  /** Names the document in a finding (a task id, a URL): scrubbed of needles like every location. */
  location: string;
  text: string;
}

/** One place holding one needle. Safe to print: it never contains the needle itself. */
export interface LeakFinding {
  where: LeakWhere;
  /** `file:line`, `logLines:n`, `workflowId:eventId`, `workflowId memo.key`, `workflowId search-attribute.Name`, `table.column`. */
  location: string;
  /** The needle, masked: a few leading characters and `…`. */
  needle: string;
  /** The needle's index in the `needles` array given to {@link scanForLeaks}. */
  needleIndex: number;
}

export interface ScanOptions {
  /** Plaintext that must appear nowhere, in any digit form; at least 4 characters each. */
  needles: readonly string[];
  /** Log files, read line by line. */
  logFiles?: readonly string[];
  /** Log lines already in memory (a test's captured logger output). */
  logLines?: readonly string[];
  /** Texts collected elsewhere: review tasks, the reviewer page's HTML, codec output, callbacks. */
  documents?: readonly LeakDocument[];
  /** Temporal, read raw through the WorkflowService: the client's data converter and codec are never used. */
  temporal?: {
    client: Client;
    /** A visibility query (`WorkflowId = '…'`, `StartTime > '…'`); every workflow when absent. */
    query?: string;
    /** Workflows scanned at once; default 8. */
    concurrency?: number;
  };
  /** Every text-like column of every table in the `public` schema. */
  db?: Pool;
  /** Tables of `public` to skip; none by default. */
  excludeTables?: readonly string[];
}

const MIN_NEEDLE_LENGTH = 4;

/**
 * The written forms of a phone number a leak may take: E.164 (`+447400123456`), digits without
 * `+` (`447400123456`), the national significant number (`7400123456`), and the international
 * and national formats people and libraries print (`44 7400 123456`, `44-7400-123456`,
 * `07400 123456`). A leading `+` is left off where the form without it is also searched, since a
 * substring search for the shorter form finds both.
 *
 * @throws TypeError when the input is not an E.164 number (the message does not repeat it).
 */
export function needleVariants(e164: string): string[] {
  const parsed = /^\+[1-9][0-9]{5,14}$/.test(e164) ? parsePhoneNumberFromString(e164) : undefined;
  if (!parsed) throw new TypeError('needleVariants: not an E.164 number');
  const international = parsed.formatInternational().replace(/^\+/, '');
  const variants = [
    e164,
    e164.slice(1),
    String(parsed.nationalNumber),
    international,
    international.replace(/ /g, '-'),
    parsed.formatNational(),
  ];
  return [...new Set(variants)].filter((v) => v.length >= MIN_NEEDLE_LENGTH);
}

/** Expands every E.164 needle with {@link needleVariants}; other needles (codes) are kept as they are. */
export function expandNeedles(needles: readonly string[]): string[] {
  const out = needles.flatMap((n) => (/^\+[1-9][0-9]{5,14}$/.test(n) ? needleVariants(n) : [n]));
  return [...new Set(out)];
}

/**
 * A needle as it may be printed: at most three leading characters (one for needles under 12
 * characters, none under 6) and `…`, so a finding never reveals a code or a subscriber number.
 */
export function maskNeedle(needle: string): string {
  const shown = needle.length >= 12 ? 3 : needle.length >= 6 ? 1 : 0;
  return `${[...needle].slice(0, shown).join('')}…`;
}

/**
 * A text as needles are matched against it: every decimal digit ASCII, spaces single and plain,
 * dashes `-` (`foldForMatching`). Printable ASCII without double spaces is already folded.
 */
export const foldText = (text: string): string =>
  /[^\x20-\x7e]| {2}/.test(text) ? foldForMatching(text).text : text;

/** Matches texts against the needles; a needle inside a longer matched one is not reported twice. */
class Matcher {
  /** Indices of the needles, longest first. */
  private readonly order: number[];
  /** The needles folded ({@link foldText}): what is searched for. */
  readonly folded: readonly string[];

  constructor(readonly needles: readonly string[]) {
    needles.forEach((n, i) => {
      if (typeof n !== 'string' || n.length < MIN_NEEDLE_LENGTH) {
        throw new RangeError(
          `scanForLeaks: needle #${i} is shorter than ${MIN_NEEDLE_LENGTH} characters`,
        );
      }
    });
    this.folded = needles.map(foldText);
    this.order = needles.map((_, i) => i).sort((a, b) => needles[b]!.length - needles[a]!.length);
  }

  /** Needle indices found in the text or in what its base64 runs decode to, in any digit form. */
  find(text: string): number[] {
    const found = new Set<number>();
    for (const candidate of withDecodedBase64(text)) {
      const folded = foldText(candidate);
      for (const i of this.order) if (folded.includes(this.folded[i]!)) found.add(i);
    }
    return this.keepLongest(found);
  }

  /** Drops needles that are substrings of another found needle (`7400123456` in `+447400123456`). */
  keepLongest(found: Iterable<number>): number[] {
    const all = [...found];
    return all.filter(
      (i) => !all.some((j) => j !== i && this.folded[j]!.includes(this.folded[i]!)),
    );
  }

  /** A location (read folded) with every needle in it masked. */
  scrub(location: string): string {
    let out = foldText(location);
    for (const i of this.order) out = out.split(this.folded[i]!).join(maskNeedle(this.needles[i]!));
    return out;
  }
}

const BASE64_RUN = /[A-Za-z0-9+/]{8,}={0,2}/g;
const MAX_DECODE_DEPTH = 2;

/**
 * The text itself, plus what each run of base64 in it decodes to (read as UTF-8), twice over:
 * payload bytes are base64 in history JSON, and a payload may itself hold base64.
 */
function withDecodedBase64(text: string, depth = 0): string[] {
  const out = [text];
  if (depth >= MAX_DECODE_DEPTH) return out;
  for (const [run] of text.matchAll(BASE64_RUN)) {
    const decoded = Buffer.from(run, 'base64').toString('utf8');
    if (decoded.length > 0) out.push(...withDecodedBase64(decoded, depth + 1));
  }
  return out;
}

class Findings {
  private readonly byKey = new Map<string, LeakFinding>();

  constructor(private readonly matcher: Matcher) {}

  check(text: string, where: LeakWhere, location: string): void {
    for (const i of this.matcher.find(text)) this.add(where, location, i);
  }

  add(where: LeakWhere, location: string, needleIndex: number): void {
    const finding: LeakFinding = {
      where,
      location: this.matcher.scrub(location),
      needle: maskNeedle(this.matcher.needles[needleIndex]!),
      needleIndex,
    };
    this.byKey.set(`${where}\u0000${finding.location}\u0000${needleIndex}`, finding);
  }

  list(): LeakFinding[] {
    return [...this.byKey.values()];
  }
}

/**
 * Searches logs, Temporal (raw, without codec) and the database for the needles.
 * Returns one finding per place and needle; an empty array means clean.
 */
export async function scanForLeaks(options: ScanOptions): Promise<LeakFinding[]> {
  const matcher = new Matcher(options.needles);
  const findings = new Findings(matcher);
  const tasks: Promise<void>[] = [];
  for (const file of options.logFiles ?? []) tasks.push(scanLogFile(file, findings));
  (options.logLines ?? []).forEach((line, i) => findings.check(line, 'log', `logLines:${i + 1}`));
  for (const doc of options.documents ?? []) findings.check(doc.text, doc.where, doc.location);
  if (options.temporal) tasks.push(scanTemporal(options.temporal, findings));
  if (options.db) tasks.push(scanDatabase(options.db, matcher, findings, options.excludeTables));
  await Promise.all(tasks);
  return findings.list();
}

async function scanLogFile(file: string, findings: Findings): Promise<void> {
  const lines = createInterface({
    input: createReadStream(file, { encoding: 'utf8' }),
    crlfDelay: Infinity,
  });
  let n = 0;
  for await (const line of lines) findings.check(line, 'log', `${file}:${++n}`);
}

// ---------------------------------------------------------------------------------------------
// Temporal

type RawPayload = temporal.api.common.v1.IPayload;
type RawExecutionInfo = temporal.api.workflow.v1.IWorkflowExecutionInfo;

const JSON_OPTIONS = { longs: String, enums: String, bytes: String, json: true } as const;

async function scanTemporal(
  options: NonNullable<ScanOptions['temporal']>,
  findings: Findings,
): Promise<void> {
  const { client } = options;
  const namespace = client.options.namespace;
  const service = client.workflowService;
  const concurrency = Math.max(1, options.concurrency ?? 8);

  // The raw visibility API, not client.workflow.list(): that one decodes memos with the client's
  // data converter, and a scanner must read exactly what the server stores.
  const queue: RawExecutionInfo[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await service.listWorkflowExecutions({
      namespace,
      query: options.query ?? '',
      pageSize: 1000,
      nextPageToken,
    });
    queue.push(...page.executions);
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);

  const scanOne = async (info: RawExecutionInfo): Promise<void> => {
    const workflowId = info.execution?.workflowId ?? '';
    const runId = info.execution?.runId ?? '';
    findings.check(workflowId, 'workflow-id', workflowId);
    scanExecutionInfo(info, workflowId, findings); // the visibility store's copy

    try {
      const described = await service.describeWorkflowExecution({
        namespace,
        execution: { workflowId, runId },
      });
      scanExecutionInfo(described.workflowExecutionInfo ?? {}, workflowId, findings); // mutable state's copy

      let token: Uint8Array | undefined;
      do {
        const page = await service.getWorkflowExecutionHistory({
          namespace,
          execution: { workflowId, runId },
          maximumPageSize: 1000,
          nextPageToken: token,
        });
        for (const event of page.history?.events ?? []) {
          const json = temporal.api.history.v1.HistoryEvent.toObject(
            event as temporal.api.history.v1.HistoryEvent,
            JSON_OPTIONS,
          );
          const location = `${workflowId}:${String(json.eventId)}`;
          for (const text of stringsIn(json)) findings.check(text, 'temporal-history', location);
        }
        token = page.nextPageToken?.length ? page.nextPageToken : undefined;
      } while (token);
    } catch (err) {
      // Purged or deleted between the listing and now: nothing left to leak.
      if ((err as { code?: unknown }).code === 5 /* gRPC NOT_FOUND */) return;
      throw err;
    }
  };

  const workers = Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
    for (let info = queue.shift(); info; info = queue.shift()) await scanOne(info);
  });
  await Promise.all(workers);
}

function scanExecutionInfo(info: RawExecutionInfo, workflowId: string, findings: Findings): void {
  for (const [key, payload] of Object.entries(info.memo?.fields ?? {})) {
    scanPayload(key, payload, 'memo', `${workflowId} memo.${key}`, findings);
  }
  for (const [key, payload] of Object.entries(info.searchAttributes?.indexedFields ?? {})) {
    scanPayload(
      key,
      payload,
      'search-attribute',
      `${workflowId} search-attribute.${key}`,
      findings,
    );
  }
}

/** A raw payload: its key, metadata and data bytes, read as UTF-8 (and base64 inside them decoded). */
function scanPayload(
  key: string,
  payload: RawPayload,
  where: LeakWhere,
  location: string,
  findings: Findings,
): void {
  findings.check(key, where, location);
  for (const [name, value] of Object.entries(payload.metadata ?? {})) {
    findings.check(`${name} ${Buffer.from(value).toString('utf8')}`, where, location);
  }
  // Bytes that are themselves base64 text are decoded by the matcher.
  if (payload.data) findings.check(Buffer.from(payload.data).toString('utf8'), where, location);
}

/** Every string (values and keys) in a JSON-shaped value. */
function stringsIn(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringsIn(v, out);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      stringsIn(v, out);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Database

const TEXT_LIKE_TYPES = [
  'text',
  'character varying',
  'character',
  'json',
  'jsonb',
  'ARRAY',
  'USER-DEFINED',
  'bytea',
];

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
const likePattern = (needle: string) => `%${needle.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

async function scanDatabase(
  db: Pool,
  matcher: Matcher,
  findings: Findings,
  excludeTables: readonly string[] = [],
): Promise<void> {
  const { rows: columns } = await db.query<{ table: string; column: string; type: string }>(
    `select c.table_name as "table", c.column_name as "column", c.data_type as "type"
       from information_schema.columns c
       join information_schema.tables t
         on t.table_schema = c.table_schema and t.table_name = c.table_name
      where c.table_schema = 'public' and t.table_type = 'BASE TABLE'
        and c.data_type = any($1::text[]) and not (c.table_name = any($2::text[]))
      order by c.table_name, c.ordinal_position`,
    [TEXT_LIKE_TYPES, [...excludeTables]],
  );
  const patterns = matcher.folded.map(likePattern);
  const { from, to } = foldingTable();
  const queue = [...columns];
  const workers = Array.from({ length: Math.min(4, queue.length) }, async () => {
    for (let col = queue.shift(); col; col = queue.shift()) {
      const ident = quoteIdent(col.column);
      // bytea: printable ASCII as it is, other bytes as octal escapes. Text is folded like the
      // needles (every decimal digit ASCII, spaces plain and single, dashes '-', format characters
      // out) when it has anything to fold: translate() costs its 900-character table per character.
      const asText =
        col.type === 'bytea'
          ? `encode(${ident}, 'escape')`
          : `case when ${ident}::text ~ '[^\\x20-\\x7e]|  '
                  then regexp_replace(translate(${ident}::text, $2, $3), ' {2,}', ' ', 'g')
                  else ${ident}::text end`;
      // One pass over the table, each value folded once, then tested against every pattern; only
      // the indices of the patterns that matched come back, never a value.
      const { rows } = await db.query<{ i: number }>(
        `with t as materialized (select ${asText} as v from public.${quoteIdent(col.table)})
         select distinct p.i::int as i
           from t cross join unnest($1::text[]) with ordinality as p(pattern, i)
          where t.v like p.pattern`,
        col.type === 'bytea' ? [patterns] : [patterns, from, to],
      );
      for (const i of matcher.keepLongest(rows.map((r) => r.i - 1))) {
        findings.add('database', `${col.table}.${col.column}`, i);
      }
    }
  });
  await Promise.all(workers);
}

// ---------------------------------------------------------------------------------------------
// CLI

/** Every `*.log` file under a folder, recursively; none when the folder does not exist. */
export function findLogFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.log'))
    .map((f) => join(dir, f))
    .sort();
}

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

async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  const raw: unknown = JSON.parse(readFileSync(args.needlesFile, 'utf8'));
  if (!Array.isArray(raw) || !raw.every((n): n is string => typeof n === 'string')) {
    throw new Error('the needles file must hold a JSON array of strings');
  }
  const needles = expandNeedles(raw);
  const config = loadConfig();
  // A client without a data converter of ours: the scanner reads what Temporal stores.
  const connection = await Connection.connect({ address: config.temporal.address });
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

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      // An error text could quote what it was given: redact it like any log line.
      const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      process.stderr.write(`leak-scan failed: ${redactFreeText(text)}\n`);
      process.exitCode = 2;
    },
  );
}
