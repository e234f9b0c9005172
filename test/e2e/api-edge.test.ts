import type { FastifyInstance, InjectOptions } from 'fastify';
import type { Pool } from 'pg';
import { listenMetrics } from '../../api/routes/metrics';
import { loadConfig } from '../../config/config';
import { createApiKey } from '../../db/api-keys';
import { startApi, startApiWithoutTemporal, type TestApi } from '../helpers/api';
import { silentLog, unique } from '../helpers/stack';

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
const AUTH_FAILURE_LIMIT = 10;

/** Counts the pool's queries that read `api_keys` (the credential lookups), from now on. */
function countKeyLookups(db: Pool): { readonly count: number; stop(): void } {
  const query = db.query.bind(db) as (...args: unknown[]) => unknown;
  let count = 0;
  db.query = ((...args: unknown[]) => {
    const first = args[0] as string | { text?: string };
    const text = typeof first === 'string' ? first : (first?.text ?? '');
    if (/\bfrom api_keys\b/.test(text)) count++;
    return query(...args);
  }) as typeof db.query;
  return {
    get count() {
      return count;
    },
    stop: () => {
      db.query = query as typeof db.query;
    },
  };
}

describe('the API edge: failed authentications, cancel isolation, metrics listener, proxies', () => {
  let api: TestApi;
  let app: FastifyInstance;
  beforeAll(async () => {
    api = await startApi({
      AUTH_FAILURE_LIMIT: String(AUTH_FAILURE_LIMIT),
      AUTH_FAILURE_WINDOW_SECONDS: '600',
      // The per-key limiter is not what is tested here.
      API_RATE_LIMIT_MAX: '1000000',
      TRUST_PROXY: '127.0.0.1',
    });
    app = api.app;
    await app.configCache.ready();
  });
  afterAll(async () => api?.close());

  test('500 wrong keys from one address: 429 with Retry-After after the limit, and only the first few reach the database', async () => {
    const tenant = unique('edge').toLowerCase();
    const { secret } = await createApiKey(api.db, tenant, ['sender']);
    const attacker = '203.0.113.7';
    const from = (remoteAddress: string, key: string): InjectOptions => ({
      url: '/v1/prices',
      headers: bearer(key),
      remoteAddress,
    });
    // The valid key is used once from that address before the flood (so this process knows it).
    expect((await app.inject(from(attacker, secret))).statusCode).toBe(200);
    expect(app.configCache.live).toBe(true);

    const lookups = countKeyLookups(api.db);
    const statuses: number[] = [];
    let last;
    try {
      for (let i = 0; i < 500; i++) {
        last = await app.inject(from(attacker, `sk_wrong-${i}-${unique('k')}`));
        statuses.push(last.statusCode);
      }
    } finally {
      lookups.stop();
    }
    expect(statuses.slice(0, AUTH_FAILURE_LIMIT)).toEqual(Array(AUTH_FAILURE_LIMIT).fill(401));
    expect(statuses.slice(AUTH_FAILURE_LIMIT)).toEqual(Array(500 - AUTH_FAILURE_LIMIT).fill(429));
    // One database lookup per wrong key up to the limit, none after it.
    expect(lookups.count).toBe(AUTH_FAILURE_LIMIT);
    expect(last!.headers['content-type']).toContain('application/problem+json');
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
    expect(last!.json()).toMatchObject({ status: 429 });

    // The known key still gets in from that address; other addresses are not affected.
    expect((await app.inject(from(attacker, secret))).statusCode).toBe(200);
    expect((await app.inject(from('203.0.113.8', secret))).statusCode).toBe(200);
    expect((await app.inject(from('203.0.113.8', 'sk_wrong-elsewhere'))).statusCode).toBe(401);
    // The browser sign-in (a key in the body) is refused alike, before its lookup.
    const login = await app.inject({
      method: 'POST',
      url: '/review/login',
      payload: { apiKey: 'sk_wrong-login' },
      remoteAddress: attacker,
    });
    expect(login.statusCode).toBe(429);
    // Successful authentications are never counted.
    for (let i = 0; i < 3 * AUTH_FAILURE_LIMIT; i++)
      expect((await app.inject(from('203.0.113.9', secret))).statusCode).toBe(200);
  });

  test('a cancel by another tenant neither starts nor reveals a message still waiting for its start', async () => {
    const owner = unique('edge-a').toLowerCase();
    const other = unique('edge-b').toLowerCase();
    const ownerKey = (await createApiKey(api.db, owner, ['sender'])).secret;
    const otherKey = (await createApiKey(api.db, other, ['sender'])).secret;
    // The owner's message is accepted by an API process whose Temporal is unreachable: it waits in
    // workflow_starts, as a message does for a moment after every 202.
    const { app: down, close } = await startApiWithoutTemporal(api.db, {
      TASK_QUEUE_PREFIX: api.config.temporal.taskQueuePrefix,
    });
    let id: string;
    try {
      const accepted = await down.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: bearer(ownerKey),
        payload: {
          to: '+447400765499',
          body: 'Your appointment is tomorrow',
          purpose: 'transactional',
          sendAt: new Date(Date.now() + 3_600_000).toISOString(),
        },
      });
      expect(accepted.statusCode).toBe(202);
      id = accepted.json<{ id: string }>().id;
      await down.startRelay.drain();
    } finally {
      await close();
    }
    const waiting = async () =>
      (
        await api.db.query<{ tenant: string; attempts: number }>(
          'select tenant, attempts from workflow_starts where message_id = $1',
          [id],
        )
      ).rows[0];
    const before = await waiting();
    expect(before).toMatchObject({ tenant: owner });

    const refused = await app.inject({
      method: 'POST',
      url: `/v1/messages/${id}/cancel`,
      headers: bearer(otherKey),
    });
    expect(refused.statusCode).toBe(404);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    // Not started, not even claimed: the row is as it was.
    expect(api.started).not.toContain(id);
    expect(await waiting()).toEqual(before);

    // Its owner still finds it waiting: no worker polls this test's task queue, so GET says so
    // (that the owner's cancel starts and stops it, with workers running, is in workflow-starts.test.ts).
    const seen = await app.inject({ url: `/v1/messages/${id}`, headers: bearer(ownerKey) });
    expect(seen.json()).toMatchObject({ id, status: 'waiting', reason: 'no_worker_for_region' });
    expect(
      (await app.inject({ url: `/v1/messages/${id}`, headers: bearer(otherKey) })).statusCode,
    ).toBe(404);
  });

  test('/metrics is not on the API port; it has a listener of its own on the loopback address', async () => {
    expect((await app.inject({ url: '/metrics' })).statusCode).toBe(404);
    const url = await listenMetrics(app, { host: '127.0.0.1', port: 0 }, silentLog);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('sms_');
    // The process's default: loopback.
    expect(loadConfig({}).metrics.host).toBe('127.0.0.1');
  });

  test('behind a trusted proxy: the client address and https come from the forwarding headers, from that proxy only', async () => {
    const tenant = unique('edge-p').toLowerCase();
    const client = '198.51.100.7';
    const { secret } = await createApiKey(api.db, tenant, ['reviewer'], {
      allowedIps: [`${client}/32`],
    });
    const forwarded = { 'x-forwarded-for': client, 'x-forwarded-proto': 'https' };
    const signIn = (remoteAddress: string) =>
      app.inject({
        method: 'POST',
        url: '/review/login',
        payload: { apiKey: secret },
        headers: forwarded,
        remoteAddress,
      });
    // Through the trusted proxy (127.0.0.1): the allowlist sees the client, the cookie is Secure.
    const viaProxy = await signIn('127.0.0.1');
    expect(viaProxy.statusCode).toBe(200);
    expect(String(viaProxy.headers['set-cookie'])).toMatch(/; Secure$/);
    // The same headers from an address that is no trusted proxy count for nothing.
    const spoofed = await signIn('203.0.113.50');
    expect(spoofed.statusCode).toBe(403);
  });
});
