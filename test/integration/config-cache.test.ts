import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import { ulid } from 'ulid';
import { createApiKey, revokeApiKey } from '../../db/api-keys';
import { ConfigCache, configChanged } from '../../db/config-cache';
import { admitMessage } from '../../db/admission';
import { putSpendCap } from '../../db/policy';
import { newMessageId } from '../../domain/ids';
import { eventually } from '../helpers/eventually';
import { newDbPool, silentLog, unique } from '../helpers/stack';

/** A load function that counts its calls and answers the call number. */
function counter() {
  let calls = 0;
  const load = async () => ++calls;
  return { load, calls: () => calls };
}

describe('ConfigCache against PostgreSQL (LISTEN/NOTIFY)', () => {
  let db: Pool;
  let other: Pool;
  const caches: ConfigCache[] = [];
  const tenants: string[] = [];

  /** A started cache whose listening session has its own application name (to find it in pg_stat_activity). */
  const newCache = async (extra: Partial<ConstructorParameters<typeof ConfigCache>[0]> = {}) => {
    const cache = new ConfigCache({
      connection: { ...db.options, application_name: unique('cache') },
      log: silentLog,
      reconnectMs: 50,
      ...extra,
    }).start();
    caches.push(cache);
    await cache.ready();
    expect(cache.live).toBe(true);
    return cache;
  };
  const newTenant = () => {
    const t = unique('cfg').toLowerCase();
    tenants.push(t);
    return t;
  };

  beforeAll(() => {
    db = newDbPool();
    // Changes made in "another process": a pool whose writes this process's caches hear only by NOTIFY.
    other = newDbPool();
  });
  afterAll(async () => {
    await Promise.all(caches.map((c) => c.close()));
    await db.query('delete from api_keys where tenant = any($1)', [tenants]);
    await db.query('delete from spend_caps where tenant = any($1)', [tenants]);
    await db.query('delete from message_charges where tenant = any($1)', [tenants]);
    for (const table of ['country_rules', 'carrier_prices', 'review_policies', 'otp_velocity'])
      await db.query(`delete from ${table} where tenant = any($1)`, [tenants]);
    await db.end();
    await other.end();
  });

  test('keeps a value until a cached table changes in any session; sync() waits for that news', async () => {
    const cache = await newCache();
    const c = counter();
    expect(await cache.read('k', c.load)).toBe(1);
    expect(await cache.read('k', c.load)).toBe(1);
    expect(c.calls()).toBe(1);
    // A write by another session that this process's code never sees: only the trigger tells.
    await other.query(
      `insert into spend_caps (tenant, monthly_cap) values ($1, 5)
       on conflict (tenant) do update set monthly_cap = excluded.monthly_cap`,
      [newTenant()],
    );
    await cache.sync();
    expect(await cache.read('k', c.load)).toBe(2);
    expect(c.calls()).toBe(2);
  });

  test('each cached table notifies; the usage counters writing api_keys.last_used_at do not', async () => {
    const cache = await newCache();
    const tenant = newTenant();
    const key = await createApiKey(db, tenant, ['sender'], { actor: 'test' });
    const c = counter();
    const changes: [string, string, unknown[]][] = [
      [
        'country_rules',
        `insert into country_rules (tenant, country, action) values ($1, 'FR', 'block')`,
        [tenant],
      ],
      [
        'carrier_prices',
        `insert into carrier_prices (tenant, carrier, country, price_per_segment) values ($1, 'x', 'FR', 0.01)`,
        [tenant],
      ],
      ['spend_caps', `insert into spend_caps (tenant, monthly_cap) values ($1, 3)`, [tenant]],
      [
        'review_policies',
        `insert into review_policies (tenant, campaign, mode, sla_seconds, default_decision, updated_by)
        values ($1, '', 'post_delivery', 60, 'approve', 'test')`,
        [tenant],
      ],
      [
        'client_certificates',
        `insert into client_certificates (fingerprint_sha256, key_id, label) values ($1, $2, 'test')`,
        [createHash('sha256').update(tenant).digest('hex'), key.id],
      ],
      ['api_keys (revoked_at)', 'update api_keys set revoked_at = now() where id = $1', [key.id]],
    ];
    await cache.read('k', c.load);
    let expected = 1;
    for (const [table, sql, params] of changes) {
      await other.query(sql, params);
      await cache.sync();
      await cache.read('k', c.load);
      expected++;
      expect([table, c.calls()]).toEqual([table, expected]);
    }
    // Written every few seconds by the usage counters (db/key-usage.ts): must not empty the cache.
    await other.query('update api_keys set last_used_at = now() where id = $1', [key.id]);
    await cache.sync();
    await cache.read('k', c.load);
    expect(c.calls()).toBe(expected);
  });

  test('a value read while a change arrived is not kept', async () => {
    const cache = await newCache();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = cache.read('k', async () => {
      await gate;
      return 'read before the change';
    });
    configChanged(); // what a db/ write function calls after its commit
    release();
    expect(await slow).toBe('read before the change');
    const c = counter();
    expect(await cache.read('k', c.load)).toBe(1);
    expect(c.calls()).toBe(1);
  });

  test('configChanged() empties every cache of the process at once', async () => {
    const [a, b] = [await newCache(), await newCache()];
    const c = counter();
    await a.read('k', c.load);
    await b.read('k', c.load);
    configChanged();
    await a.read('k', c.load);
    await b.read('k', c.load);
    expect(c.calls()).toBe(4);
  });

  test('keepUntil shortens an entry; 0 keeps nothing', async () => {
    let now = 1_000_000;
    const cache = await newCache({ now: () => now, ttlMs: 60_000 });
    const c = counter();
    await cache.read('short', c.load, () => now + 10);
    await cache.read('short', c.load, () => now + 10);
    expect(c.calls()).toBe(1);
    now += 11;
    await cache.read('short', c.load, () => now + 10);
    expect(c.calls()).toBe(2);
    await cache.read('never', c.load, () => 0);
    await cache.read('never', c.load, () => 0);
    expect(c.calls()).toBe(4);
    now += 60_001; // the ttl
    await cache.read('short', c.load);
    expect(c.calls()).toBe(5);
  });

  /** The backend pid of a cache's listening session, if it has one. */
  const listenerPid = async (cache: ConfigCache) => {
    const name = (cache as unknown as { opts: { connection: { application_name: string } } }).opts
      .connection.application_name;
    const { rows } = await other.query<{ pid: number }>(
      'select pid from pg_stat_activity where application_name = $1',
      [`${name}-config-listener`],
    );
    return rows[0]?.pid;
  };
  const terminate = async (pid: number) => other.query('select pg_terminate_backend($1)', [pid]);

  test('while its session is lost nothing is kept, and sync() returns at once', async () => {
    const cache = await newCache({ reconnectMs: 600_000 });
    const c = counter();
    await cache.read('k', c.load);
    await terminate((await listenerPid(cache))!);
    await eventually(
      'the lost session noticed',
      async () => (cache.live ? undefined : true),
      10_000,
    );
    await cache.sync();
    expect(await cache.read('k', c.load)).toBe(2);
    expect(await cache.read('k', c.load)).toBe(3);
  });

  test('it listens again after a lost session, and starts empty', async () => {
    const cache = await newCache();
    const c = counter();
    await cache.read('k', c.load);
    const first = (await listenerPid(cache))!;
    await terminate(first);
    await eventually(
      'a new listening session',
      async () => {
        const pid = await listenerPid(cache);
        return cache.live && pid !== undefined && pid !== first ? pid : undefined;
      },
      10_000,
    );
    expect(await cache.read('k', c.load)).toBe(2);
    expect(await cache.read('k', c.load)).toBe(2);
  });

  test('a key revoked after authentication admits nothing: the admission statement checks it', async () => {
    const tenant = newTenant();
    await putSpendCap(db, tenant, null);
    const key = await createApiKey(db, tenant, ['sender'], { actor: 'test' });
    const input = (messageId: string) => ({
      messageId,
      tenant,
      keyId: key.id,
      month: '2026-11-01',
      country: 'GB',
      purpose: 'otp' as const,
      segments: 1,
      countryRule: 'allow' as const,
      quota: { defaultPerDay: 1000, now: new Date() },
    });
    const start = (messageId: string) => async () => ({
      messageId,
      tenant,
      workflowType: 'sendMessageWorkflow',
      taskQueue: 'unused',
      args: Buffer.from('not started in this test'),
      searchAttributes: {},
    });
    const live = newMessageId(ulid);
    expect(await admitMessage(db, input(live), start(live))).toEqual({ kind: 'admitted' });
    await revokeApiKey(db, key.id, 'test');
    const after = newMessageId(ulid);
    expect(await admitMessage(db, input(after), start(after))).toEqual({ kind: 'key_revoked' });
    const written = await db.query(
      `select (select count(*)::int from message_charges where message_id = any($1)) as charges,
              (select count(*)::int from workflow_starts where message_id = any($1)) as starts,
              (select sum(sends)::int from tenant_send_usage where tenant = $2) as sends`,
      [[live, after], tenant],
    );
    expect(written.rows[0]).toEqual({ charges: 1, starts: 1, sends: 1 });
    // An OTP velocity count in the same transaction is undone too.
    const held = newMessageId(ulid);
    expect(
      await admitMessage(
        db,
        {
          ...input(held),
          velocity: { limit: 5, overLimit: 'refuse', windowMs: 60_000, now: Date.now() },
        },
        start(held),
      ),
    ).toEqual({ kind: 'key_revoked' });
    const counted = await db.query(
      'select coalesce(sum(count), 0)::int as n from otp_velocity where tenant = $1',
      [tenant],
    );
    expect(counted.rows[0].n).toBe(0);
    await db.query('delete from workflow_starts where tenant = $1', [tenant]);
    await db.query('delete from tenant_send_usage where tenant = $1', [tenant]);
  });
});
