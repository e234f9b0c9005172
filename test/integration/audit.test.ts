import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool, PoolClient } from 'pg';
import { ROOT_DIR } from '../../config/paths';
import {
  AUDIT_GENESIS_HASH,
  AuditEntryError,
  appendAudit,
  appendAuditBatch,
  auditHash,
  isoMicros,
  latestAuditHead,
  verifyAuditChain,
  type AuditEntry,
  type AuditHead,
} from '../../db/audit';
import { newDbPool, unique } from '../helpers/stack';

const MIGRATION = join(ROOT_DIR, 'db', 'migrations', '1764000002000_audit.sql');
const TRIGGER = 'audit_log_append_only';

/** The migration's Up section: the same DDL builds a scratch copy in another schema. */
const auditUpSql = () => readFileSync(MIGRATION, 'utf8').split('-- Down Migration')[0]!;

const entry = (tenant: string, i: number): AuditEntry => ({
  actor: i % 3 ? `key_${i % 5}` : 'system:worker',
  tenant,
  action: ['message.read', 'codec.decode', 'review.read', 'key.use'][i % 4]!,
  subject: `msg_${i.toString().padStart(26, '0')}`,
  detail: { route: '/v1/messages/:id', attempt: i, flags: { z: true, a: [i, 'x|y'] } },
});

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'npx',
      ['tsx', 'scripts/audit-verify.ts', ...args],
      { cwd: ROOT_DIR, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function inTransaction<T>(db: Pool, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback');
    throw err;
  } finally {
    client.release();
  }
}

/** Appends from `connections` clients at once; returns appends per second. */
async function appendConcurrently(
  db: Pool,
  entries: AuditEntry[],
  connections: number,
  schema?: string,
): Promise<number> {
  const clients = await Promise.all(Array.from({ length: connections }, () => db.connect()));
  const started = process.hrtime.bigint();
  try {
    await Promise.all(
      clients.map(async (client, c) => {
        for (let i = c; i < entries.length; i += connections) {
          await appendAudit(client, entries[i]!, { schema });
        }
      }),
    );
  } finally {
    for (const client of clients) client.release();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return Math.round(entries.length / seconds);
}

describe('audit log (real table, shared with other tests)', () => {
  let db: Pool;
  const tenant = unique('audit');

  beforeAll(() => {
    db = newDbPool();
  });
  afterAll(async () => {
    await db.end();
  });

  test('200 appends from 8 connections at once form one valid chain', async () => {
    const rate = await appendConcurrently(
      db,
      Array.from({ length: 200 }, (_, i) => entry(tenant, i)),
      8,
    );
    console.log(`audit: 200 appends over 8 connections, ${rate} appends/s`);

    const { rows } = await db.query<{ n: string; seqs: string }>(
      'select count(*) as n, count(distinct seq) as seqs from audit_log where tenant = $1',
      [tenant],
    );
    expect(rows[0]).toEqual({ n: '200', seqs: '200' });
    const started = Date.now();
    const result = await verifyAuditChain(db);
    expect(result).toMatchObject({ ok: true });
    if (!result.ok) return;
    expect(result.entries).toBeGreaterThanOrEqual(200);
    console.log(`audit: verified ${result.entries} entries in ${Date.now() - started} ms`);
    const head = await latestAuditHead(db);
    expect(head!.seq).toBeGreaterThanOrEqual(result.head!.seq);
  });

  test('UPDATE and DELETE are refused for the app role, which owns the table', async () => {
    await appendAudit(db, entry(tenant, 1));
    const { rows } = await db.query<{ user: string; superuser: boolean; owner: string }>(
      `select current_user as user, rolsuper as superuser, tableowner as owner
         from pg_roles, pg_tables where rolname = current_user and tablename = 'audit_log'`,
    );
    expect(rows[0]).toEqual({ user: 'sms', superuser: false, owner: 'sms' });
    // In a transaction that is rolled back either way: a missing trigger must not damage the log.
    for (const sql of [
      `update audit_log set detail = '{"x": 1}' where tenant = $1`,
      'delete from audit_log where tenant = $1',
    ]) {
      const client = await db.connect();
      try {
        await client.query('begin');
        await expect(client.query(sql, [tenant])).rejects.toMatchObject({
          code: '42501',
          message: expect.stringMatching(/append-only: (UPDATE|DELETE) refused/),
        });
      } finally {
        await client.query('rollback');
        client.release();
      }
    }
  });

  test('npm run audit:verify (the CLI) exits 0 on the real log', async () => {
    const { code, stdout, stderr } = await runCli([]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/^audit chain OK: \d+ entries, head \d+ [0-9a-f]{64}\n$/);
  });

  test('entries that would chain ambiguously or carry a phone number are refused before any query', async () => {
    const bad: AuditEntry[] = [
      { ...entry(tenant, 0), actor: 'key|1' },
      { ...entry(tenant, 0), tenant: '' },
      { ...entry(tenant, 0), action: 'Message Read' },
      { ...entry(tenant, 0), subject: '+447700900123' },
      { ...entry(tenant, 0), detail: { to: ['+15551234567'] } },
    ];
    for (const e of bad) await expect(appendAudit(db, e)).rejects.toBeInstanceOf(AuditEntryError);
  });
});

describe('audit log on a scratch copy (tampering)', () => {
  let db: Pool;
  let schema: string;
  const tenant = unique('audit-tamper');
  const table = () => `"${schema}".audit_log`;

  beforeAll(() => {
    db = newDbPool();
  });
  afterAll(async () => {
    await db.end();
  });

  beforeEach(async () => {
    schema = `audit_tamper_${randomBytes(6).toString('hex')}`;
    await inTransaction(db, async (c) => {
      await c.query(`create schema "${schema}"`);
      await c.query(`set local search_path to "${schema}"`);
      await c.query(auditUpSql());
    });
    for (let i = 0; i < 20; i++) await appendAudit(db, entry(tenant, i), { schema });
  });
  afterEach(async () => {
    await db.query(`drop schema "${schema}" cascade`);
  });

  /** Tampering as the table owner can: trigger off, change, trigger on, in one transaction. */
  const tamper = (fn: (c: PoolClient) => Promise<unknown>) =>
    inTransaction(db, async (c) => {
      await c.query(`alter table ${table()} disable trigger ${TRIGGER}`);
      await fn(c);
      await c.query(`alter table ${table()} enable trigger ${TRIGGER}`);
    });

  const seqs = async () =>
    (await db.query<{ seq: string }>(`select seq from ${table()} order by seq`)).rows.map((r) =>
      Number(r.seq),
    );

  test('the copy is separate and valid; TRUNCATE is refused too', async () => {
    expect(await verifyAuditChain(db, { schema })).toEqual({
      ok: true,
      entries: 20,
      head: await latestAuditHead(db, { schema }),
    });
    const { rows } = await db.query<{ prev_hash: string }>(
      `select prev_hash from ${table()} order by seq limit 1`,
    );
    expect(rows[0]!.prev_hash).toBe(AUDIT_GENESIS_HASH);
    await expect(db.query(`truncate ${table()}`)).rejects.toThrow(/append-only: TRUNCATE refused/);
    await expect(db.query(`update ${table()} set actor = 'x' where false`)).rejects.toThrow(
      /append-only/,
    );
  });

  test('canonical forms: jsonb key order, stored numbers, unicode, microseconds', async () => {
    await appendAudit(
      db,
      {
        actor: 'operator:key_é',
        tenant: null,
        action: 'erasure.request',
        subject: null,
        detail: {
          zz: 'line\nbreak "quoted" \\ tab\t',
          a: '日本語 🙂',
          bb: [null, false, 0.1, -2e-7],
        },
      },
      { schema },
    );
    // Numbers JSON.parse cannot round-trip: the verifier must use PostgreSQL's rendering verbatim.
    await db.query(
      `select * from "${schema}".audit_append('system:worker', $1, 'key.use', 'k1',
         '{"n": 1.0, "big": 123456789012345678901234567890, "e": 1e-7, "": {"b": 1, "a": 2}}')`,
      [tenant],
    );
    const { rows } = await db.query<{ detail: string; at_text: string; at_micros: string }>(
      `select detail::text as detail,
              to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at_text,
              (extract(epoch from at) * 1000000)::bigint::text as at_micros
         from ${table()} order by seq desc limit 2`,
    );
    expect(rows[0]!.detail).toBe(
      '{"": {"a": 2, "b": 1}, "e": 0.0000001, "n": 1.0, "big": 123456789012345678901234567890}',
    );
    for (const r of rows) expect(isoMicros(BigInt(r.at_micros))).toBe(r.at_text);
    expect(isoMicros(1767323045123456n)).toBe('2026-01-02T03:04:05.123456Z');
    expect(isoMicros(-1n)).toBe('1969-12-31T23:59:59.999999Z');
    expect(await verifyAuditChain(db, { schema })).toMatchObject({ ok: true, entries: 22 });
  });

  test('a rolled-back append leaves a seq gap, not a broken chain; REPEATABLE READ is refused', async () => {
    const client = await db.connect();
    try {
      await client.query('begin');
      await appendAudit(client, entry(tenant, 99), { schema });
      await client.query('rollback');
      await client.query('begin isolation level repeatable read');
      await expect(appendAudit(client, entry(tenant, 98), { schema })).rejects.toThrow(
        /READ COMMITTED/,
      );
      await client.query('rollback');
    } finally {
      client.release();
    }
    const head = await appendAudit(db, entry(tenant, 100), { schema });
    const all = await seqs();
    expect(head.seq).toBe(all[all.length - 1]!);
    expect(head.seq - all[all.length - 2]!).toBe(2);
    expect(await verifyAuditChain(db, { schema })).toMatchObject({ ok: true, entries: 21 });
  });

  test('a changed detail breaks the chain at that seq; restoring it exactly heals it', async () => {
    const target = (await seqs())[7]!;
    const { rows } = await db.query<{ detail: string }>(
      `select detail::text as detail from ${table()} where seq = $1`,
      [target],
    );
    await tamper((c) =>
      c.query(
        `update ${table()} set detail = jsonb_set(detail, '{attempt}', '1000') where seq = $1`,
        [target],
      ),
    );
    expect(await verifyAuditChain(db, { schema })).toEqual({
      ok: false,
      brokenAtSeq: target,
      reason: expect.stringMatching(/hash mismatch/),
    });
    const cli = await runCli(['--schema', schema]);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toMatch(new RegExp(`^audit chain BROKEN at seq ${target}: hash mismatch`));

    await tamper((c) =>
      c.query(`update ${table()} set detail = $2::jsonb where seq = $1`, [target, rows[0]!.detail]),
    );
    expect(await verifyAuditChain(db, { schema, batchSize: 3 })).toMatchObject({
      ok: true,
      entries: 20,
    });
  });

  test('a deleted middle entry, or one rewritten with a recomputed hash, breaks the next link', async () => {
    const all = await seqs();
    await tamper((c) => c.query(`delete from ${table()} where seq = $1`, [all[10]]));
    expect(await verifyAuditChain(db, { schema, batchSize: 4 })).toEqual({
      ok: false,
      brokenAtSeq: all[11],
      reason: expect.stringMatching(/prev_hash does not match/),
    });

    // Rewrite entry 3 and give it a correct hash of its own: entry 4 still points at the old one.
    await tamper(async (c) => {
      const { rows } = await c.query<{
        seq: string;
        at_micros: string;
        tenant: string;
        action: string;
        subject: string;
        detail: string;
        prev_hash: string;
      }>(
        `select seq::text, (extract(epoch from at) * 1000000)::bigint::text as at_micros, tenant,
                action, subject, detail::text as detail, prev_hash from ${table()} where seq = $1`,
        [all[3]],
      );
      const r = rows[0]!;
      const hash = auditHash({
        seq: r.seq,
        atMicros: BigInt(r.at_micros),
        actor: 'someone_else',
        tenant: r.tenant,
        action: r.action,
        subject: r.subject,
        detail: r.detail,
        prevHash: r.prev_hash,
      });
      await c.query(`update ${table()} set actor = 'someone_else', hash = $2 where seq = $1`, [
        all[3],
        hash,
      ]);
    });
    expect(await verifyAuditChain(db, { schema })).toMatchObject({
      ok: false,
      brokenAtSeq: all[4],
    });
  });

  test('a removed tail passes on its own and is caught only against an external anchor', async () => {
    const anchor: AuditHead = (await latestAuditHead(db, { schema }))!;
    const all = await seqs();
    await tamper((c) => c.query(`delete from ${table()} where seq >= $1`, [all[18]]));
    expect(await verifyAuditChain(db, { schema })).toMatchObject({ ok: true, entries: 18 });
    expect(await verifyAuditChain(db, { schema, anchor })).toEqual({
      ok: false,
      brokenAtSeq: anchor.seq,
      reason: expect.stringMatching(/anchored entry .* is gone/),
    });
    const cli = await runCli(['--schema', schema, '--anchor', `${anchor.seq}:${anchor.hash}`]);
    expect(cli.code).toBe(1);
  });

  test('throughput: 2,000 appends over 10 connections, one by one and in batches of 50', async () => {
    const entries = Array.from({ length: 2_000 }, (_, i) => entry(tenant, i));
    const rate = await appendConcurrently(db, entries, 10, schema);

    const batches = Array.from({ length: 40 }, (_, b) => entries.slice(b * 50, b * 50 + 50));
    const started = process.hrtime.bigint();
    const heads = await Promise.all(
      batches.map((batch) => appendAuditBatch(db, batch, { schema })),
    );
    const batchRate = Math.round(2_000 / (Number(process.hrtime.bigint() - started) / 1e9));
    for (const h of heads) {
      expect(h).toHaveLength(50);
      // Consecutive within a batch: one lock for the whole batch.
      expect(h[49]!.seq - h[0]!.seq).toBe(49);
    }

    const verifyStarted = Date.now();
    const result = await verifyAuditChain(db, { schema });
    const verifyMs = Date.now() - verifyStarted;
    console.log(
      `audit: 2000 single appends over 10 connections ${rate}/s; 2000 in batches of 50 ${batchRate}/s; ` +
        `verified 4020 entries in ${verifyMs} ms`,
    );
    expect(result).toMatchObject({ ok: true, entries: 4_020 });
  });
});
