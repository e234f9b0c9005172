import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';

/**
 * The hash-chained, append-only audit log (DESIGN.md invariant 4; table and writer function in
 * db/migrations/1764000002000_audit.sql).
 *
 * hash = sha256 hex of the UTF-8 string `prev_hash|seq|at|actor|tenant|action|subject|detail`:
 * `at` is ISO 8601 UTC with microseconds (`2026-01-02T03:04:05.123456Z`), a NULL tenant or subject
 * is '', and `detail` is PostgreSQL's rendering of the jsonb value (`detail::text`: keys ordered by
 * length then bytes, `", "` and `": "` separators; numbers as stored). The first prev_hash is 64 zeros.
 *
 * The chain proves that no entry was changed, inserted or removed before the latest one. It cannot
 * show that the newest entries were removed (or the whole table rewritten): take `latestAuditHead()`
 * regularly, keep it outside this database, and pass it to `verifyAuditChain(db, { anchor })`.
 */

export const AUDIT_GENESIS_HASH = '0'.repeat(64);

export interface AuditEntry {
  /** The API key id, `'system:worker'` or `'operator:<key id>'`. */
  actor: string;
  /** null only for actions that belong to no tenant. */
  tenant: string | null;
  /** What happened, e.g. `'message.read'`, `'codec.decode'`, `'review.read'`, `'key.use'`, `'erasure.request'`. */
  action: string;
  /** The message, task or erasure id: never a phone number or a message body. */
  subject: string | null;
  /** Context without personal values (counts, reasons, route names). */
  detail?: Record<string, unknown>;
}

export interface AuditHead {
  seq: number;
  hash: string;
}

export type AuditVerification =
  | { ok: true; entries: number; head: AuditHead | null }
  | { ok: false; brokenAtSeq: number; reason: string };

export interface AuditTableOptions {
  /** The schema holding audit_log and audit_append; default: the connection's search_path. */
  schema?: string;
}

export interface VerifyOptions extends AuditTableOptions {
  /** Rows read per query (keyset pagination by seq); default 5,000. */
  batchSize?: number;
  /** A head recorded earlier outside the database: the entry must still be there with that hash. */
  anchor?: AuditHead;
}

type Db = Pool | PoolClient;

/** Thrown before any query when an entry could not be chained unambiguously or looks personal. */
export class AuditEntryError extends Error {
  override name = 'AuditEntryError';
}

/** An E.164 number: the one personal value an audit entry could most easily pick up by mistake. */
const E164 = /^\+[1-9]\d{6,14}$/;

const qualified = (name: string, schema?: string) =>
  schema === undefined ? name : `"${schema.replace(/"/g, '""')}".${name}`;

function fieldProblem(name: string, value: string | null, nullable: boolean): string | undefined {
  if (value === null) return nullable ? undefined : `${name} is missing`;
  if (typeof value !== 'string') return `${name} must be a string`;
  if (value === '') return `${name} must not be empty`;
  if (value.includes('|')) return `${name} must not contain "|"`;
  if (E164.test(value)) return `${name} looks like a phone number`;
  return undefined;
}

function findPhoneNumber(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return E164.test(value) ? path : undefined;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const found = findPhoneNumber(v, `${path}[${i}]`);
      if (found) return found;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const found = findPhoneNumber(v, `${path}.${k}`);
      if (found) return found;
    }
  }
  return undefined;
}

function checkEntry(entry: AuditEntry): void {
  const problem =
    fieldProblem('actor', entry.actor, false) ??
    fieldProblem('tenant', entry.tenant, true) ??
    fieldProblem('subject', entry.subject, true) ??
    (/^[a-z][a-z0-9_.:-]*$/.test(entry.action)
      ? undefined
      : 'action must be lower case, like "message.read"');
  if (problem) throw new AuditEntryError(`audit entry refused: ${problem}`);
  const detail = entry.detail ?? {};
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
    throw new AuditEntryError('audit entry refused: detail must be an object');
  }
  const phone = findPhoneNumber(detail, 'detail');
  if (phone) throw new AuditEntryError(`audit entry refused: ${phone} looks like a phone number`);
}

/**
 * Appends one entry in one round trip: audit_append() takes the chain lock, reads the last hash and
 * inserts. Use the pool, or a client in a READ COMMITTED transaction: the lock is held until that
 * transaction ends, so appending inside a long transaction stalls every other appender.
 */
export async function appendAudit(
  db: Db,
  entry: AuditEntry,
  options: AuditTableOptions = {},
): Promise<AuditHead> {
  checkEntry(entry);
  const { rows } = await db.query<{ seq: string; hash: string }>(
    `select seq::text as seq, hash from ${qualified('audit_append', options.schema)}($1, $2, $3, $4, $5::jsonb)`,
    [entry.actor, entry.tenant, entry.action, entry.subject, JSON.stringify(entry.detail ?? {})],
  );
  const row = rows[0]!;
  return { seq: Number(row.seq), hash: row.hash };
}

/**
 * Appends several entries (in order) in one round trip and one transaction: one lock wait and one
 * commit for all of them, for routes that read many records at once.
 */
export async function appendAuditBatch(
  db: Db,
  entries: readonly AuditEntry[],
  options: AuditTableOptions = {},
): Promise<AuditHead[]> {
  if (entries.length === 0) return [];
  for (const e of entries) checkEntry(e);
  const { rows } = await db.query<{ seq: string; hash: string }>(
    `select a.seq::text as seq, a.hash
       from rows from (jsonb_to_recordset($1::jsonb)
              as (actor text, tenant text, action text, subject text, detail jsonb))
            with ordinality as e (actor, tenant, action, subject, detail, n)
      cross join lateral ${qualified('audit_append', options.schema)}(
              e.actor, e.tenant, e.action, e.subject, e.detail) a
      order by e.n`,
    [
      JSON.stringify(
        entries.map((e) => ({
          actor: e.actor,
          tenant: e.tenant,
          action: e.action,
          subject: e.subject,
          detail: e.detail ?? {},
        })),
      ),
    ],
  );
  return rows.map((r) => ({ seq: Number(r.seq), hash: r.hash }));
}

/** The newest entry, for operators to record outside the database (null while the log is empty). */
export async function latestAuditHead(
  db: Db,
  options: AuditTableOptions = {},
): Promise<AuditHead | null> {
  const { rows } = await db.query<{ seq: string; hash: string }>(
    `select l.seq::text as seq, l.hash from ${qualified('audit_log', options.schema)} l order by l.seq desc limit 1`,
  );
  const row = rows[0];
  return row ? { seq: Number(row.seq), hash: row.hash } : null;
}

/** The stored fields an entry's hash covers, as the verifier reads them. */
export interface AuditRow {
  seq: string;
  /** Microseconds since the Unix epoch, exact. */
  atMicros: bigint;
  actor: string;
  tenant: string | null;
  action: string;
  subject: string | null;
  /** `detail::text`, verbatim. */
  detail: string;
  prevHash: string;
}

/** `at` as hashed: ISO 8601 UTC with microseconds, `2026-01-02T03:04:05.123456Z`. */
export function isoMicros(atMicros: bigint): string {
  const micros = ((atMicros % 1000n) + 1000n) % 1000n;
  const iso = new Date(Number((atMicros - micros) / 1000n)).toISOString();
  return `${iso.slice(0, -1)}${micros.toString().padStart(3, '0')}Z`;
}

/** The exact string an entry's hash is taken over. */
export function canonicalAuditString(row: AuditRow): string {
  return [
    row.prevHash,
    row.seq,
    isoMicros(row.atMicros),
    row.actor,
    row.tenant ?? '',
    row.action,
    row.subject ?? '',
    row.detail,
  ].join('|');
}

export const auditHash = (row: AuditRow) =>
  createHash('sha256').update(canonicalAuditString(row), 'utf8').digest('hex');

/** Why a stored row can't be hashed unambiguously (audit_log's CHECKs forbid it, unless bypassed). */
function rowProblem(row: AuditRow): string | undefined {
  for (const [name, value, nullable] of [
    ['actor', row.actor, false],
    ['tenant', row.tenant, true],
    ['action', row.action, false],
    ['subject', row.subject, true],
  ] as const) {
    if (value === null ? !nullable : value === '' || value.includes('|'))
      return `${name} is empty or contains "|"`;
  }
  return undefined;
}

/**
 * Recomputes every hash in seq order and checks each link to the entry before, reading `batchSize`
 * rows at a time up to the head seen at the start (appends during the run are left for next time).
 * Gaps in seq are normal (rolled-back appends); a removed entry shows as a broken link.
 */
export async function verifyAuditChain(
  db: Db,
  options: VerifyOptions = {},
): Promise<AuditVerification> {
  const table = qualified('audit_log', options.schema);
  const batchSize = options.batchSize ?? 5_000;
  const { anchor } = options;
  const head = await latestAuditHead(db, options);
  const missingAnchor = (): AuditVerification => ({
    ok: false,
    brokenAtSeq: anchor!.seq,
    reason: `anchored entry ${anchor!.seq} is gone: the log was truncated or rewritten`,
  });
  if (!head) return anchor ? missingAnchor() : { ok: true, entries: 0, head: null };

  // Ordered by the bigint column l.seq, not by the text alias seq.
  const columns = `l.seq::text as seq, (extract(epoch from l.at) * 1000000)::bigint::text as at_micros,
    l.actor, l.tenant, l.action, l.subject, l.detail::text as detail, l.prev_hash, l.hash`;
  let entries = 0;
  let prevHash = AUDIT_GENESIS_HASH;
  let prevSeq: string | undefined;
  let anchorSeen = false;
  for (;;) {
    const { rows } = await db.query<{
      seq: string;
      at_micros: string;
      actor: string;
      tenant: string | null;
      action: string;
      subject: string | null;
      detail: string;
      prev_hash: string;
      hash: string;
    }>(
      prevSeq === undefined
        ? `select ${columns} from ${table} l where l.seq <= $1 order by l.seq limit $2`
        : `select ${columns} from ${table} l where l.seq > $3 and l.seq <= $1 order by l.seq limit $2`,
      prevSeq === undefined ? [head.seq, batchSize] : [head.seq, batchSize, prevSeq],
    );
    for (const r of rows) {
      const seq = Number(r.seq);
      const row: AuditRow = {
        seq: r.seq,
        atMicros: BigInt(r.at_micros),
        actor: r.actor,
        tenant: r.tenant,
        action: r.action,
        subject: r.subject,
        detail: r.detail,
        prevHash: r.prev_hash,
      };
      const broken = (reason: string): AuditVerification => ({
        ok: false,
        brokenAtSeq: seq,
        reason,
      });
      const problem = rowProblem(row);
      if (problem) return broken(problem);
      if (auditHash(row) !== r.hash)
        return broken('hash mismatch: the entry was changed after it was written');
      if (r.prev_hash !== prevHash) {
        return broken(
          prevSeq === undefined
            ? 'the first entry does not start from the genesis hash: earlier entries were removed'
            : `prev_hash does not match entry ${prevSeq}: entries were removed or rewritten`,
        );
      }
      if (anchor && seq === anchor.seq) {
        if (r.hash !== anchor.hash) return broken('hash differs from the anchored head');
        anchorSeen = true;
      }
      prevHash = r.hash;
      prevSeq = r.seq;
      entries++;
    }
    if (rows.length < batchSize) break;
  }
  if (anchor && !anchorSeen) return missingAnchor();
  return { ok: true, entries, head };
}
