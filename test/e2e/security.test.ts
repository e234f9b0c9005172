import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { signWebhook } from '../../domain/webhook-signature';
import { createLogger } from '../../config/logger';
import { createApiKey, revokeApiKey } from '../../db/api-keys';
import { setSendQuota } from '../../db/quotas';
import { addClientCertificate } from '../../scripts/keys';
import { needleVariants, scanForLeaks } from '../../scripts/leak-scan';
import { startApi, type TestApi } from '../helpers/api';
import { testCertificates } from '../helpers/certificates';
import { unique } from '../helpers/stack';

const PHONE = '+447400123987';
const CODE = '739164';
const send = { to: PHONE, body: `Your code is ${CODE}`, purpose: 'otp' };
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

async function auditActions(api: TestApi, subject: string): Promise<string[]> {
  const { rows } = await api.db.query<{ action: string }>(
    'select action from audit_log where subject = $1 order by seq',
    [subject],
  );
  return rows.map((r) => r.action);
}

describe('security: keys, limits, strict input, signed webhooks', () => {
  const RATE_MAX = 25;
  let api: TestApi;
  let app: FastifyInstance;
  let tenant: string;
  let base: string;

  // Everything the app logs, for the leak scan at the end; and every key secret handed out.
  const lines: string[] = [];
  const secrets: string[] = [];
  const newKey = async (
    ...args: Parameters<typeof createApiKey> extends [unknown, ...infer R] ? R : never
  ) => {
    const key = await createApiKey(api.db, ...args);
    secrets.push(key.secret);
    return key;
  };

  /** The test's OTP, sent with this key. */
  const postSend = (secret: string) =>
    app.inject({ method: 'POST', url: '/v1/messages', headers: bearer(secret), payload: send });

  beforeAll(async () => {
    api = await startApi(
      { API_RATE_LIMIT_MAX: String(RATE_MAX) },
      createLogger('security-e2e', 'debug', { write: (l: string) => void lines.push(l) }),
    );
    app = api.app;
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    tenant = unique('sec').toLowerCase();
  });
  afterAll(async () => api?.close());

  test('npm run keys -- create, list and revoke: the revoked key is refused on its next request', async () => {
    const keys = (...args: string[]) =>
      execFileSync('npx', ['tsx', 'scripts/keys.ts', ...args], {
        encoding: 'utf8',
        env: process.env,
      });
    const created = keys('create', '--tenant', tenant, '--roles', 'admin', '--label', 'cli-test');
    const id = /^id\s+(key_\S+)$/m.exec(created)?.[1];
    const secret = /^secret\s+(sk_\S+)$/m.exec(created)?.[1];
    secrets.push(secret!);
    expect(id).toBeDefined();
    expect(secret).toBeDefined();
    // Only the hash is stored.
    const { rows } = await api.db.query('select key_hash from api_keys where id = $1', [id]);
    expect(rows[0].key_hash).not.toContain(secret!);

    expect((await app.inject({ url: '/v1/pools', headers: bearer(secret!) })).statusCode).toBe(200);
    await app.keyUsage.flush();
    expect(keys('list', '--tenant', tenant)).toMatch(
      new RegExp(`^${id}\\s+${tenant}\\s+admin\\s+active\\s.*requests-24h=1\\b`, 'm'),
    );

    expect(keys('revoke', id!)).toContain(`revoked ${id}`);
    // Another process revoked it: this API process hears of it by NOTIFY (db/config-cache.ts).
    await app.configCache.sync();
    const refused = await app.inject({ url: '/v1/pools', headers: bearer(secret!) });
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(keys('list', '--tenant', tenant)).toMatch(new RegExp(`^${id}\\s.*\\srevoked\\s`, 'm'));
    // A bad command fails with its usage and a non-zero exit.
    const bad = spawnSync('npx', ['tsx', 'scripts/keys.ts', 'create', '--roles', 'admin'], {
      encoding: 'utf8',
      env: process.env,
    });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('--tenant is required');

    expect(await auditActions(api, id!)).toEqual([
      'api_key.create',
      'api_key.used',
      'api_key.revoke',
    ]);
  });

  test('revocation holds on the very next request over the same keep-alive connection', async () => {
    const key = await newKey(tenant, ['admin']);
    const first = await fetch(`${base}/v1/pools`, { headers: bearer(key.secret) });
    expect(first.status).toBe(200);
    await revokeApiKey(api.db, key.id, 'test');
    const next = await fetch(`${base}/v1/pools`, { headers: bearer(key.secret) });
    expect(next.status).toBe(401);
    expect(await next.json()).toMatchObject({ title: 'Unauthenticated' });
  });

  test('an expired key is refused; an IP allowlist admits only its addresses', async () => {
    const expiring = await newKey(tenant, ['admin'], {
      expiresAt: new Date(Date.now() + 3_600_000),
    });
    expect(
      (await app.inject({ url: '/v1/pools', headers: bearer(expiring.secret) })).statusCode,
    ).toBe(200);
    await api.db.query(
      `update api_keys set expires_at = now() - interval '1 second' where id = $1`,
      [expiring.id],
    );
    await app.configCache.sync();
    expect(
      (await app.inject({ url: '/v1/pools', headers: bearer(expiring.secret) })).statusCode,
    ).toBe(401);

    const elsewhere = await newKey(tenant, ['admin'], { allowedIps: ['10.0.0.0/8'] });
    const here = await newKey(tenant, ['admin'], {
      allowedIps: ['192.0.2.0/24', '127.0.0.1'],
    });
    const refused = await fetch(`${base}/v1/pools`, { headers: bearer(elsewhere.secret) });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({
      detail: 'this API key may not be used from this address',
    });
    expect((await fetch(`${base}/v1/pools`, { headers: bearer(here.secret) })).status).toBe(200);
    // The browser sign-in (the reviewer page's) checks the allowlist too.
    const reviewer = await newKey(tenant, ['reviewer'], { allowedIps: ['10.1.2.3'] });
    const login = await app.inject({
      method: 'POST',
      url: '/review/login',
      payload: { apiKey: reviewer.secret },
    });
    expect(login.statusCode).toBe(403);
    await expect(newKey(tenant, ['admin'], { allowedIps: ['not-an-address'] })).rejects.toThrow(
      'allowed IPs must be addresses or CIDR ranges',
    );
  });

  test('key use is counted per key and audited once per key and hour, not once per request', async () => {
    const key = await newKey(tenant, ['admin']);
    for (let i = 0; i < 5; i++)
      expect((await app.inject({ url: '/v1/pools', headers: bearer(key.secret) })).statusCode).toBe(
        200,
      );
    await app.keyUsage.flush();
    const { rows } = await api.db.query<{ requests: string }>(
      'select requests from api_key_usage where key_id = $1',
      [key.id],
    );
    expect(rows.map((r) => Number(r.requests))).toEqual([5]);
    expect(await auditActions(api, key.id)).toEqual(['api_key.create', 'api_key.used']);
  });

  test('per-key rate limit: 429 problem+json with Retry-After, and other keys unaffected', async () => {
    const busy = await newKey(tenant, ['admin']);
    const calm = await newKey(tenant, ['admin']);
    const statuses: number[] = [];
    let last;
    for (let i = 0; i <= RATE_MAX; i++) {
      last = await app.inject({ url: '/v1/pools', headers: bearer(busy.secret) });
      statuses.push(last.statusCode);
    }
    expect(statuses.slice(0, RATE_MAX).every((s) => s === 200)).toBe(true);
    expect(last!.statusCode).toBe(429);
    expect(last!.headers['content-type']).toContain('application/problem+json');
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
    expect(last!.json()).toMatchObject({ status: 429, title: 'Too many requests' });
    expect((await app.inject({ url: '/v1/pools', headers: bearer(calm.secret) })).statusCode).toBe(
      200,
    );
  });

  test('a key revoked in another session sends nothing from the commit on, whatever this process has cached', async () => {
    const revokedTenant = unique('revoked').toLowerCase();
    const sender = await newKey(revokedTenant, ['sender']);
    const post = () => postSend(sender.secret);
    const startedBefore = api.started.length;
    expect((await post()).statusCode).toBe(202); // the key is now in this process's cache
    // Not through revokeApiKey, which would empty this process's cache at once: only the trigger's
    // NOTIFY tells this process, and the next send may come first. The admission statement refuses it.
    await api.db.query('update api_keys set revoked_at = now() where id = $1', [sender.id]);
    const refused = await post();
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(refused.json()).toMatchObject({ title: 'Unauthenticated' });
    await api.app.startRelay.drain();
    expect(api.started.length - startedBefore).toBe(1);
    const { rows } = await api.db.query(
      `select (select sends from tenant_send_usage where tenant = $1) as sends,
              (select count(*)::int from message_charges where tenant = $1) as charges`,
      [revokedTenant],
    );
    expect(rows).toEqual([{ sends: 1, charges: 1 }]);
  });

  test('per-tenant send quota: 429 with Retry-After once the day is used up', async () => {
    const quotaTenant = unique('quota').toLowerCase();
    const sender = await newKey(quotaTenant, ['sender']);
    await setSendQuota(api.db, quotaTenant, 2);
    const post = () => postSend(sender.secret);
    const startedBefore = api.started.length;
    expect((await post()).statusCode).toBe(202);
    expect((await post()).statusCode).toBe(202);
    const over = await post();
    expect(over.statusCode).toBe(429);
    expect(over.headers['content-type']).toContain('application/problem+json');
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(over.headers['retry-after'])).toBeLessThanOrEqual(86_400);
    expect(over.json()).toMatchObject({ title: 'Send quota exceeded' });
    // The refused third request reached no workflow (the relay has started every accepted one).
    await api.app.startRelay.drain();
    expect(api.started.length - startedBefore).toBe(2);
    const { rows } = await api.db.query('select sends from tenant_send_usage where tenant = $1', [
      quotaTenant,
    ]);
    expect(rows).toEqual([{ sends: 2 }]);
  });

  test('a request over the size limit gets 413 problem+json without reaching a workflow', async () => {
    const bigTenant = unique('big').toLowerCase();
    const sender = await newKey(bigTenant, ['sender']);
    const startedBefore = api.started.length;
    const res = await fetch(`${base}/v1/messages`, {
      method: 'POST',
      headers: { ...bearer(sender.secret), 'content-type': 'application/json' },
      body: JSON.stringify({ ...send, body: 'x'.repeat(api.config.api.bodyLimit) }),
    });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await res.json()).toMatchObject({ status: 413, title: 'Request body too large' });
    await api.app.startRelay.drain();
    expect(api.started.length).toBe(startedBefore);
    // The handler never ran: it would have taken from the quota before starting anything.
    const { rowCount } = await api.db.query('select 1 from tenant_send_usage where tenant = $1', [
      bigTenant,
    ]);
    expect(rowCount).toBe(0);
  });

  test('strict input: unknown fields and query parameters are 400; bad JSON, media type and method are problem+json that echo nothing', async () => {
    const sender = await newKey(tenant, ['sender']);
    const post = (payload: string, contentType = 'application/json', url = '/v1/messages') =>
      app.inject({
        method: 'POST',
        url,
        headers: { ...bearer(sender.secret), 'content-type': contentType },
        payload,
      });
    const startedBefore = api.started.length;

    const extra = await post(JSON.stringify({ ...send, priority: 'high' }));
    expect(extra.statusCode).toBe(400);
    expect(extra.json()).toMatchObject({ title: 'Invalid request', fields: ['priority'] });

    const query = await post(JSON.stringify(send), 'application/json', '/v1/messages?debug=1');
    expect(query.statusCode).toBe(400);
    expect(query.json()).toMatchObject({ fields: ['debug'] });

    const malformed = await post(`{"to": "${PHONE}", "body": "code ${CODE}"`);
    expect(malformed.statusCode).toBe(400);
    expect(malformed.headers['content-type']).toContain('application/problem+json');
    expect(malformed.json()).toMatchObject({ title: 'Malformed JSON' });
    expect(malformed.body).not.toContain('7400123987');
    expect(malformed.body).not.toContain(CODE);

    const media = await post(`to=${PHONE}`, 'text/plain');
    expect(media.statusCode).toBe(415);
    expect(media.json()).toMatchObject({ title: 'Unsupported media type' });
    expect(media.body).not.toContain('7400123987');

    const method = await app.inject({
      method: 'PUT',
      url: '/v1/messages',
      headers: bearer(sender.secret),
    });
    expect(method.statusCode).toBe(405);
    expect(method.headers.allow).toBe('POST');
    expect(method.headers['content-type']).toContain('application/problem+json');

    const missing = await app.inject({ url: `/v1/nothing/${encodeURIComponent(PHONE)}` });
    expect(missing.statusCode).toBe(404);
    expect(missing.body).not.toContain('7400123987');
    await api.app.startRelay.drain();
    expect(api.started.length).toBe(startedBefore);
  });

  test('inbound receipts: signed, fresh and once only, across API processes; a receipt that cannot be routed yet can be redelivered', async () => {
    const carrier = api.config.carriers.find((c) => c.kind === 'http');
    if (carrier?.kind !== 'http') throw new Error('the default config has an HTTP carrier');
    const sender = await newKey(tenant, ['sender']);
    const accepted = await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: bearer(sender.secret),
      payload: send,
    });
    expect(accepted.statusCode).toBe(202);
    const messageId = accepted.json<{ id: string }>().id;
    const carrierId = unique('cm');
    const deliver = (target: FastifyInstance, at: number, id = carrierId) => {
      const body = JSON.stringify({ id, status: 'delivered' });
      return target.inject({
        method: 'POST',
        url: `/v1/carriers/${carrier.name}/receipts`,
        headers: {
          'content-type': 'application/json',
          'x-timestamp': String(at),
          'x-signature': signWebhook(carrier.webhookSecret, at, body),
        },
        payload: body,
      });
    };
    const now = Math.floor(Date.now() / 1000);

    // Not journaled yet: 409, and the claim is given back so the carrier's retry is not a "replay".
    expect((await deliver(app, now)).statusCode).toBe(409);
    await api.db.query(
      `insert into dispatch_journal (message_id, carrier, part_index, carrier_message_id) values ($1, $2, 0, $3)`,
      [messageId, carrier.name, carrierId],
    );
    expect((await deliver(app, now)).statusCode).toBe(204);

    // The same delivery again, to this process and to another one sharing only PostgreSQL.
    const other = await startApi();
    try {
      for (const target of [app, other.app]) {
        const replay = await deliver(target, now);
        expect(replay.statusCode).toBe(401);
        expect(replay.json()).toMatchObject({ detail: 'webhook refused: replayed' });
      }
    } finally {
      await other.close();
    }
    const stale = await deliver(app, now - 301);
    expect(stale.json()).toMatchObject({ status: 401, detail: 'webhook refused: stale' });
    const forged = await app.inject({
      method: 'POST',
      url: `/v1/carriers/${carrier.name}/receipts`,
      headers: {
        'content-type': 'application/json',
        'x-timestamp': String(now),
        'x-signature': signWebhook('not-the-carrier-secret', now, '{}'),
      },
      payload: '{}',
    });
    expect(forged.json()).toMatchObject({ status: 401, detail: 'webhook refused: bad-signature' });
    const { rows } = await api.db.query(
      `select 1 from webhook_signatures_seen where signature like $1 and expires_at > now()`,
      [`${carrier.name}:${now}:%`],
    );
    expect(rows.length).toBeGreaterThanOrEqual(1);
  });

  test('the leak scan finds no number, code or key secret in the logs, the database or Temporal', async () => {
    expect(lines.length).toBeGreaterThan(0);
    expect(secrets.length).toBeGreaterThan(5);
    const needles = [...needleVariants(PHONE), CODE, ...secrets];
    await api.app.startRelay.drain();
    const findings = await scanForLeaks({
      needles,
      logLines: lines,
      db: api.db,
      temporal: {
        client: api.temporal,
        query: api.started.map((id) => `WorkflowId = '${id}'`).join(' OR '),
      },
    });
    expect(findings).toEqual([]);
  });
});

/** A CA, a server certificate for 127.0.0.1, client certificates it signs, and one it does not. */
function makeCertificates(dir: string) {
  const pki = testCertificates(dir);
  pki.ca('ca', '/CN=Test CA');
  pki.ca('rogue-ca', '/CN=Rogue CA');
  pki.issue(
    'server',
    'ca',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  for (const c of ['client-a', 'client-b', 'client-unmapped'])
    pki.issue(c, 'ca', 'extendedKeyUsage=clientAuth\n');
  pki.issue('client-rogue', 'rogue-ca', 'extendedKeyUsage=clientAuth\n');
  return { file: pki.file, path: pki.path };
}

interface TlsAnswer {
  status: number;
  body: string;
}

function tlsGet(
  port: number,
  path: string,
  options: { ca: Buffer; cert?: Buffer; key?: Buffer; headers?: Record<string, string> },
): Promise<TlsAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path, method: 'GET', agent: false, ...options },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('transport: HTTPS and mutual TLS with certificates made for this test', () => {
  let dir: string;
  let certs: ReturnType<typeof makeCertificates>;
  let optional: TestApi;
  let port: number;
  let tenantA: string;
  let tenantB: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sms-tls-'));
    certs = makeCertificates(dir);
    optional = await startApi({
      API_TLS_CERT: certs.path('server.pem'),
      API_TLS_KEY: certs.path('server.key'),
      API_TLS_CA: certs.path('ca.pem'),
      API_TLS_CLIENT_CERT: 'optional',
    });
    const url = await optional.app.listen({ host: '127.0.0.1', port: 0 });
    expect(url).toMatch(/^https:/);
    port = Number(new URL(url).port);
    tenantA = unique('tls-a').toLowerCase();
    tenantB = unique('tls-b').toLowerCase();
    const keyA = await createApiKey(optional.db, tenantA, ['admin']);
    await addClientCertificate(optional.db, keyA.id, certs.file('client-a.pem'));
    await optional.db.query(
      `insert into number_pools (id, tenant, name, purpose, strategy) values ($1, $2, 'tls-pool', 'otp', 'lru')`,
      [`pool_${tenantA}`, tenantA],
    );
    const keyB = await createApiKey(optional.db, tenantB, ['admin']);
    await addClientCertificate(optional.db, keyB.id, certs.file('client-b.pem'));
  });
  afterAll(async () => {
    await optional?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const client = (name: string) => ({
    ca: certs.file('ca.pem'),
    cert: certs.file(`${name}.pem`),
    key: certs.file(`${name}.key`),
  });

  test('the API answers over HTTPS only', async () => {
    const res = await tlsGet(port, '/healthz', { ca: certs.file('ca.pem') });
    expect(res.status).toBe(200);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  test('a client certificate stands for its API key: its tenant, its roles', async () => {
    const res = await tlsGet(port, '/v1/pools', client('client-a'));
    expect(res.status).toBe(200);
    expect((JSON.parse(res.body) as { name: string }[]).map((p) => p.name)).toEqual(['tls-pool']);
    const b = await tlsGet(port, '/v1/pools', client('client-b'));
    expect(b.status).toBe(200);
    expect(JSON.parse(b.body)).toEqual([]);
  });

  test('a certificate of no key, or from another CA, is no authentication', async () => {
    const unmapped = await tlsGet(port, '/v1/pools', client('client-unmapped'));
    expect(unmapped.status).toBe(401);
    expect(JSON.parse(unmapped.body)).toMatchObject({
      detail: 'this client certificate stands for no live API key',
    });
    const rogue = await tlsGet(port, '/v1/pools', client('client-rogue'));
    expect(rogue.status).toBe(401);
  });

  test('a certificate and an API key of different tenants are refused', async () => {
    const keyB = await createApiKey(optional.db, tenantB, ['admin']);
    const res = await tlsGet(port, '/v1/pools', {
      ...client('client-a'),
      headers: bearer(keyB.secret),
    });
    expect(res.status).toBe(403);
    expect(res.body).toContain('different tenants');
  });

  test('required mode refuses a connection without a valid client certificate', async () => {
    const required = await startApi({
      API_TLS_CERT: certs.path('server.pem'),
      API_TLS_KEY: certs.path('server.key'),
      API_TLS_CA: certs.path('ca.pem'),
      API_TLS_CLIENT_CERT: 'required',
    });
    try {
      const url = await required.app.listen({ host: '127.0.0.1', port: 0 });
      const p = Number(new URL(url).port);
      await expect(tlsGet(p, '/healthz', { ca: certs.file('ca.pem') })).rejects.toThrow();
      await expect(tlsGet(p, '/healthz', client('client-rogue'))).rejects.toThrow();
      expect((await tlsGet(p, '/healthz', client('client-unmapped'))).status).toBe(200);
    } finally {
      await required.close();
    }
  });
});
