import type { FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { buildApp } from '../../api/app';
import { createApiKey } from '../../scripts/keys';
import {
  config,
  newDbPool,
  newTemporalClient,
  newVault,
  silentLog,
  unique,
} from '../helpers/stack';

interface PoolJson {
  id: string;
  name: string;
  country: string | null;
  purpose: string;
  strategy: string;
  campaign: string | null;
  expiresAt: string | null;
  createdAt: string;
}
interface NumberJson {
  number: string;
  status: string;
  ratePerSecond: number;
  quarantineReason: string | null;
}

describe('pools admin API', () => {
  let app: FastifyInstance;
  let temporal: Client;
  let db: Pool;
  const tenant = unique('tenant').toLowerCase();
  const otherTenant = unique('tenant').toLowerCase();
  let admin: string;
  let sender: string;
  let otherAdmin: string;

  beforeAll(async () => {
    temporal = await newTemporalClient();
    db = newDbPool();
    const vault = newVault();
    app = await buildApp({ config, log: silentLog, temporal, db, vault });
    admin = (await createApiKey(db, tenant, ['admin'])).secret;
    sender = (await createApiKey(db, tenant, ['sender'])).secret;
    otherAdmin = (await createApiKey(db, otherTenant, ['admin'])).secret;
  });

  afterAll(async () => {
    await app.close();
    await db.query('delete from number_pools where tenant = any($1)', [[tenant, otherTenant]]);
    await db.query('delete from api_keys where tenant = any($1)', [[tenant, otherTenant]]);
    await temporal.connection.close();
    await db.end();
  });

  const call = (method: 'GET' | 'POST' | 'DELETE', url: string, key?: string, body?: unknown) =>
    app.inject({
      method,
      url,
      headers: key ? { authorization: `Bearer ${key}` } : {},
      ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
    });

  const createPool = async (body: Record<string, unknown>, key = admin) => {
    const res = await call('POST', '/v1/pools', key, body);
    expect(res.statusCode).toBe(201);
    return res.json<PoolJson>();
  };

  test('create, add numbers, list with counts, quarantine, release, remove', async () => {
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const pool = await createPool({
      name: 'DE otp',
      country: 'DE',
      purpose: 'otp',
      strategy: 'sticky',
      campaign: 'spring-2026',
      expiresAt,
    });
    expect(pool).toMatchObject({
      name: 'DE otp',
      country: 'DE',
      purpose: 'otp',
      strategy: 'sticky',
      campaign: 'spring-2026',
      expiresAt,
    });
    expect(pool.id).toMatch(/^pool_[0-9A-Z]{26}$/);

    const added = await call('POST', `/v1/pools/${pool.id}/numbers`, admin, {
      numbers: [
        { number: '+4915100000001' },
        { number: '+4915100000002', ratePerSecond: 5 },
        { number: 'ACME Bank' },
        { number: '+4915100000001' },
      ],
    });
    expect(added.statusCode).toBe(201);
    expect(added.json()).toMatchObject({ added: 3 });
    // Adding again ignores duplicates.
    const again = await call('POST', `/v1/pools/${pool.id}/numbers`, admin, {
      numbers: [{ number: '+4915100000001' }],
    });
    expect(again.json()).toMatchObject({ added: 0 });

    const number = encodeURIComponent('+4915100000001');
    const q = await call('POST', `/v1/pools/${pool.id}/numbers/${number}/quarantine`, admin, {
      reason: 'carrier reports spam',
    });
    expect(q.statusCode).toBe(200);
    expect(q.json()).toMatchObject({
      number: '+4915100000001',
      status: 'quarantined',
      quarantineReason: 'carrier reports spam',
    });

    const list = await call('GET', '/v1/pools', admin);
    expect(list.statusCode).toBe(200);
    expect(list.json()).toEqual([
      expect.objectContaining({ id: pool.id, activeNumbers: 2, quarantinedNumbers: 1 }),
    ]);

    const detail = await call('GET', `/v1/pools/${pool.id}`, admin);
    expect(detail.statusCode).toBe(200);
    const numbers = detail.json<{ numbers: NumberJson[] }>().numbers;
    expect(numbers.map((n) => [n.number, n.status, n.ratePerSecond])).toEqual([
      ['+4915100000001', 'quarantined', 1],
      ['+4915100000002', 'active', 5],
      ['ACME Bank', 'active', 1],
    ]);

    const released = await call('POST', `/v1/pools/${pool.id}/numbers/${number}/release`, admin);
    expect(released.statusCode).toBe(200);
    expect(released.json()).toMatchObject({ status: 'active', quarantineReason: null });

    const removed = await call('DELETE', `/v1/pools/${pool.id}/numbers/ACME%20Bank`, admin);
    expect(removed.statusCode).toBe(204);
    expect(
      (await call('DELETE', `/v1/pools/${pool.id}/numbers/ACME%20Bank`, admin)).statusCode,
    ).toBe(404);
    const after = await call('GET', `/v1/pools/${pool.id}`, admin);
    expect(after.json<{ numbers: NumberJson[] }>().numbers).toHaveLength(2);
  });

  test('numbers of pools not created through the API (the dev seed, the bench) can be quarantined and released too', async () => {
    // As scripts/dev-seed.ts writes them: every pool id the API lists must work on every pool route.
    const id = `pool_${tenant}_seeded_otp`;
    const number = '+447700900031';
    await db.query(
      `insert into number_pools (id, tenant, name, country, purpose, strategy) values ($1, $2, $3, null, 'otp', 'lru')`,
      [id, tenant, unique('seeded')],
    );
    await db.query(
      `insert into pool_numbers (pool_id, number, status, quarantined_at, quarantine_reason)
       values ($1, $2, 'quarantined', now(), 'anomaly: failure rate 100%')`,
      [id, number],
    );
    const listed = (await call('GET', '/v1/pools', admin)).json<PoolJson[]>();
    expect(listed.map((p) => p.id)).toContain(id);
    expect((await call('GET', `/v1/pools/${id}`, admin)).statusCode).toBe(200);
    const released = await call(
      'POST',
      `/v1/pools/${id}/numbers/${encodeURIComponent(number)}/release`,
      admin,
    );
    expect(released.statusCode).toBe(200);
    expect(released.json()).toMatchObject({ status: 'active', quarantineReason: null });
  });

  test('a duplicate pool name is 409', async () => {
    const name = unique('pool');
    await createPool({ name, purpose: 'marketing', strategy: 'lru' });
    const res = await call('POST', '/v1/pools', admin, { name, purpose: 'otp', strategy: 'lru' });
    expect(res.statusCode).toBe(409);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({ status: 409, fields: ['name'] });
    // Names are per tenant.
    await createPool({ name, purpose: 'otp', strategy: 'lru' }, otherAdmin);
  });

  test('no key is 401, a sender key is 403', async () => {
    for (const [method, url] of [
      ['GET', '/v1/pools'],
      ['POST', '/v1/pools'],
    ] as const) {
      const none = await call(method, url, undefined, method === 'POST' ? {} : undefined);
      expect(none.statusCode).toBe(401);
      expect(none.headers['content-type']).toContain('application/problem+json');
      const forbidden = await call(method, url, sender, method === 'POST' ? {} : undefined);
      expect(forbidden.statusCode).toBe(403);
    }
  });

  test("another tenant's pool is 404 on every route", async () => {
    const pool = await createPool(
      { name: unique('pool'), purpose: 'otp', strategy: 'lru' },
      otherAdmin,
    );
    await call('POST', `/v1/pools/${pool.id}/numbers`, otherAdmin, {
      numbers: [{ number: '+4915100000009' }],
    });
    const n = encodeURIComponent('+4915100000009');
    const attempts = [
      call('GET', `/v1/pools/${pool.id}`, admin),
      call('POST', `/v1/pools/${pool.id}/numbers`, admin, {
        numbers: [{ number: '+4915100000008' }],
      }),
      call('DELETE', `/v1/pools/${pool.id}/numbers/${n}`, admin),
      call('POST', `/v1/pools/${pool.id}/numbers/${n}/quarantine`, admin, { reason: 'x' }),
      call('POST', `/v1/pools/${pool.id}/numbers/${n}/release`, admin),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.statusCode).toBe(404);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
    const list = (await call('GET', '/v1/pools', admin)).json<PoolJson[]>();
    expect(list.map((p) => p.id)).not.toContain(pool.id);
    // Untouched for its owner.
    const own = await call('GET', `/v1/pools/${pool.id}`, otherAdmin);
    expect(own.json<{ numbers: NumberJson[] }>().numbers).toEqual([
      expect.objectContaining({ number: '+4915100000009', status: 'active' }),
    ]);
  });

  test('an invalid body is a 400 problem naming the field', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['/v1/pools', { name: 'x', purpose: 'otp', strategy: 'random' }, 'strategy'],
      ['/v1/pools', { name: 'x', purpose: 'otp', strategy: 'lru', country: 'de' }, 'country'],
      ['/v1/pools', { name: 'x', purpose: 'otp', strategy: 'lru', expiresAt: 'soon' }, 'expiresAt'],
      ['/v1/pools', { name: 'x', purpose: 'otp', strategy: 'lru', extra: 1 }, 'extra'],
      ['/v1/pools', { purpose: 'otp', strategy: 'lru' }, 'name'],
      [
        '/v1/pools',
        { name: 'x', purpose: 'otp', strategy: 'lru', expiresAt: '2001-01-01T00:00:00Z' },
        'expiresAt',
      ],
    ];
    for (const [url, body, field] of cases) {
      const res = await call('POST', url, admin, body);
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json<{ fields: string[] }>().fields.join(' ')).toContain(field);
    }

    const pool = await createPool({ name: unique('pool'), purpose: 'otp', strategy: 'lru' });
    const bad = await call('POST', `/v1/pools/${pool.id}/numbers`, admin, {
      numbers: [{ number: '4915100000001' }, { number: '+4915100000002', ratePerSecond: 0 }],
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ fields: string[] }>().fields).toEqual(
      expect.arrayContaining(['numbers.0.number', 'numbers.1.ratePerSecond']),
    );
    const noReason = await call(
      'POST',
      `/v1/pools/${pool.id}/numbers/${encodeURIComponent('+4915100000001')}/quarantine`,
      admin,
      {},
    );
    expect(noReason.statusCode).toBe(400);
    expect(noReason.json()).toMatchObject({ fields: ['reason'] });
    expect((await call('GET', '/v1/pools/not-a-pool-id', admin)).statusCode).toBe(400);
  });

  test('the routes are in the OpenAPI document under the pools tag', async () => {
    const spec = (await app.inject({ method: 'GET', url: '/docs/json' })).json<{
      paths: Record<string, Record<string, { tags?: string[] }>>;
    }>();
    expect(spec.paths['/v1/pools']?.post?.tags).toEqual(['pools']);
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining([
        '/v1/pools/{id}',
        '/v1/pools/{id}/numbers',
        '/v1/pools/{id}/numbers/{number}',
        '/v1/pools/{id}/numbers/{number}/quarantine',
        '/v1/pools/{id}/numbers/{number}/release',
      ]),
    );
  });
});
