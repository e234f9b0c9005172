import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { routePattern } from '../../api/plugins/problem';
import { httpsOptions } from '../../api/tls';
import { checkWebhookSignature, signWebhook } from '../../domain/webhook-signature';
import { temporalConnectionOptions } from '../../clients/temporal';
import { loadConfig } from '../../config/config';
import { ConfigError } from '../../config/env';
import { normalizeIp } from '../../db/api-keys';
import { secondsToUtcMidnight } from '../../db/quotas';

const base = { VAULT_CREDENTIALS_DIR: '/nonexistent' };

describe('security configuration', () => {
  let dir: string;
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'sec-unit-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('defaults: plain HTTP, 64 KiB bodies, a rate limit per key, plaintext Temporal', () => {
    const c = loadConfig(base);
    expect(c.api.tls).toBeUndefined();
    expect(c.api.bodyLimit).toBe(64 * 1024);
    expect(c.api.rateLimit).toEqual({ max: 1200, windowMs: 60_000 });
    expect(c.api.sendQuotaPerDay).toBe(1_000_000);
    expect(c.temporal.tls).toBeUndefined();
    expect(temporalConnectionOptions(c)).toEqual({ address: '127.0.0.1:7233' });
  });

  test('TLS paths come in pairs; a CA without a server certificate is refused', () => {
    expect(() => loadConfig({ ...base, API_TLS_CERT: '/c.pem' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, API_TLS_CERT: '/c.pem' })).toThrow(/API_TLS_KEY/);
    expect(() => loadConfig({ ...base, API_TLS_CA: '/ca.pem' })).toThrow(/API_TLS_CA/);
    expect(() => loadConfig({ ...base, TEMPORAL_TLS_KEY: '/k.pem' })).toThrow(/TEMPORAL_TLS_CERT/);
    expect(() => loadConfig({ ...base, API_TLS_CLIENT_CERT: 'sometimes' })).toThrow(
      /API_TLS_CLIENT_CERT/,
    );
    expect(() => loadConfig({ ...base, API_BODY_LIMIT_BYTES: '10' })).toThrow(/API_BODY_LIMIT/);
  });

  test('mutual TLS options: a CA asks for client certificates; `required` refuses the handshake without one', () => {
    const cert = file('s.pem', 'CERT');
    const key = file('s.key', 'KEY');
    const ca = file('ca.pem', 'CA');
    const plain = httpsOptions(
      loadConfig({ ...base, API_TLS_CERT: cert, API_TLS_KEY: key }).api.tls!,
    );
    expect(plain).toMatchObject({ minVersion: 'TLSv1.2' });
    expect(plain.requestCert).toBeUndefined();
    const optional = httpsOptions(
      loadConfig({ ...base, API_TLS_CERT: cert, API_TLS_KEY: key, API_TLS_CA: ca }).api.tls!,
    );
    expect(optional).toMatchObject({ requestCert: true, rejectUnauthorized: false });
    expect(String(optional.ca)).toBe('CA');
    const required = httpsOptions(
      loadConfig({
        ...base,
        API_TLS_CERT: cert,
        API_TLS_KEY: key,
        API_TLS_CA: ca,
        API_TLS_CLIENT_CERT: 'required',
      }).api.tls!,
    );
    expect(required).toMatchObject({ requestCert: true, rejectUnauthorized: true });
  });

  test('Temporal TLS: CA, client pair and server name from files, for clients and workers alike', () => {
    const c = loadConfig({
      ...base,
      TEMPORAL_ADDRESS: 'temporal.example:7233',
      TEMPORAL_TLS_CA: file('tca.pem', 'TCA'),
      TEMPORAL_TLS_CERT: file('tc.pem', 'TC'),
      TEMPORAL_TLS_KEY: file('tk.pem', 'TK'),
      TEMPORAL_TLS_SERVER_NAME: 'frontend.internal',
    });
    const o = temporalConnectionOptions(c);
    expect(o.address).toBe('temporal.example:7233');
    expect(o.tls?.serverNameOverride).toBe('frontend.internal');
    expect(Buffer.from(o.tls!.serverRootCACertificate!).toString()).toBe('TCA');
    expect(Buffer.from(o.tls!.clientCertPair!.crt).toString()).toBe('TC');
    expect(Buffer.from(o.tls!.clientCertPair!.key).toString()).toBe('TK');
    // TLS with the system's roots only.
    expect(temporalConnectionOptions(loadConfig({ ...base, TEMPORAL_TLS: 'true' })).tls).toEqual(
      {},
    );
  });
});

describe('security helpers', () => {
  test('route patterns match concrete paths, one segment per parameter', () => {
    expect(routePattern('/v1/pools/:id').test('/v1/pools/pool_1')).toBe(true);
    expect(routePattern('/v1/pools/:id').test('/v1/pools/a/b')).toBe(false);
    expect(routePattern('/codec/*').test('/codec/decode')).toBe(true);
    expect(routePattern('/v1/messages').test('/v1/messagesX')).toBe(false);
    expect(routePattern('/docs/static/index.html').test('/docs/static/indexXhtml')).toBe(false);
  });

  test('a signature check names the replay key, the same for the same delivery only', () => {
    const body = '{"id":"c1","status":"delivered"}';
    const at = 1_700_000_000;
    const headers = (b: string, t = at) => ({
      'x-timestamp': String(t),
      'x-signature': signWebhook('s3cret-s3cret-s3', t, b),
    });
    const a = checkWebhookSignature('s3cret-s3cret-s3', headers(body), body, at);
    const again = checkWebhookSignature('s3cret-s3cret-s3', headers(body), body, at + 5);
    const other = checkWebhookSignature('s3cret-s3cret-s3', headers(`${body} `), `${body} `, at);
    expect(a.ok && again.ok && other.ok).toBe(true);
    if (a.ok && again.ok && other.ok) {
      expect(a.replayKey).toBe(again.replayKey);
      expect(a.replayKey).not.toBe(other.replayKey);
      expect(a.replayKey.startsWith(`${at}:`)).toBe(true);
    }
    expect(checkWebhookSignature('s3cret-s3cret-s3', headers(body), body, at + 301)).toEqual({
      ok: false,
      reason: 'stale',
    });
  });

  test('the caller address as PostgreSQL reads it', () => {
    expect(normalizeIp('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normalizeIp('2001:db8::1')).toBe('2001:db8::1');
    expect(normalizeIp('not-an-ip')).toBeNull();
    expect(normalizeIp(undefined)).toBeNull();
  });

  test('the daily quota restarts at the next UTC midnight', () => {
    expect(secondsToUtcMidnight(new Date('2026-01-02T23:59:30Z'))).toBe(30);
    expect(secondsToUtcMidnight(new Date('2026-01-02T00:00:00Z'))).toBe(86_400);
    expect(secondsToUtcMidnight(new Date('2026-01-02T23:59:59.900Z'))).toBe(1);
  });
});
