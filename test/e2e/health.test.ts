import type { FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { buildApp } from '../../api/app';
import { createDbPool } from '../../clients/db';
import { VaultClient } from '../../clients/vault';
import { config, newDbPool, newTemporalClient, newVault, silentLog } from '../helpers/stack';

describe('API skeleton against the real stack', () => {
  let app: FastifyInstance;
  let temporal: Client;
  let db: Pool;
  let base: string;

  beforeAll(async () => {
    temporal = await newTemporalClient();
    db = newDbPool();
    const vault = newVault();
    app = await buildApp({ config, log: silentLog, temporal, db, vault });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await app.close();
    await temporal.connection.close();
    await db.end();
  });

  test('/healthz answers while the process is up', async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  test('/readyz reports Temporal, Vault and PostgreSQL each up', async () => {
    const res = await fetch(`${base}/readyz`);
    const body = (await res.json()) as {
      status: string;
      checks: Record<string, { status: string }>;
    };
    expect(res.status).toBe(200);
    expect(body.status).toBe('ready');
    expect(body).toMatchObject({ down: [] });
    expect(Object.fromEntries(Object.entries(body.checks).map(([k, v]) => [k, v.status]))).toEqual({
      temporal: 'up',
      vault: 'up',
      postgres: 'up',
    });
  });

  test('/readyz answers 503 naming the dependency that is down', async () => {
    const vault = new VaultClient({ ...config.vault, addr: 'http://127.0.0.1:1', log: silentLog });
    const broken = await buildApp({ config, log: silentLog, temporal, db, vault });
    const res = await broken.inject({ method: 'GET', url: '/readyz' });
    await broken.close();
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({
      status: 'unavailable',
      down: ['vault'],
      checks: { vault: { status: 'down' }, postgres: { status: 'up' } },
    });
  });

  test('PostgreSQL unreachable: /readyz names postgres, requests answer 503 with Retry-After, never 500', async () => {
    // A pool whose server does not listen (port 1): every query fails with ECONNREFUSED.
    const gone = createDbPool(
      { ...config.database, url: 'postgres://sms:sms@127.0.0.1:1/sms' },
      'sms-test-unreachable',
    );
    const vault = newVault();
    const broken = await buildApp({ config, log: silentLog, temporal, db: gone, vault });
    try {
      const ready = await broken.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ down: ['postgres'] });
      const send = await broken.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: { authorization: 'Bearer sk_test_anything' },
        payload: { to: '+447400123456', body: 'Your code is 123456', purpose: 'otp' },
      });
      expect(send.statusCode).toBe(503);
      expect(send.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(send.headers['retry-after']).toMatch(/^[1-9][0-9]*$/);
      expect(send.json()).toMatchObject({ status: 503, title: 'Service unavailable' });
      expect(send.body).not.toContain('127.0.0.1');
    } finally {
      await broken.close();
      await gone.end();
    }
  });

  test('OpenAPI docs are served at /docs', async () => {
    const spec = (await (await fetch(`${base}/docs/json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(spec.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/healthz', '/readyz']));
    expect((await fetch(`${base}/docs`, { redirect: 'follow' })).status).toBe(200);
  });

  test('an unknown route is a problem+json 404 that does not echo the URL', async () => {
    const res = await fetch(`${base}/v1/nothing/+447400123456`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await res.text()).not.toContain('447400123456');
  });
});
