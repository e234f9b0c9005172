import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { routePattern } from '../../api/plugins/problem';
import { httpsOptions } from '../../api/tls';
import { checkWebhookSignature, signWebhook } from '../../domain/webhook-signature';
import { temporalConnectionOptions } from '../../clients/temporal';
import { loadConfig } from '../../config/config';
import { ConfigError } from '../../config/env';
import { createLogger } from '../../config/logger';
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

  test('Temporal Cloud API key: from a file read at connect time (or the setting), TLS implied, never logged', () => {
    const KEY = 'tcak-unit-4f1d9e-not-a-real-key';
    const keyFile = file('temporal-api-key', `${KEY}\n`);
    const c = loadConfig({
      ...base,
      TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
      TEMPORAL_API_KEY_FILE: keyFile,
    });
    // TLS with the system's roots, and the key without the Secret's trailing newline.
    expect(temporalConnectionOptions(c)).toEqual({
      address: 'ns.acct.tmprl.cloud:7233',
      tls: {},
      apiKey: KEY,
    });
    // Read when connecting, not when loading: a rotated Secret is picked up by the next connection.
    writeFileSync(keyFile, 'tcak-rotated');
    expect(temporalConnectionOptions(c).apiKey).toBe('tcak-rotated');
    writeFileSync(keyFile, '\n');
    expect(() => temporalConnectionOptions(c)).toThrow(/TEMPORAL_API_KEY_FILE: .* is empty/);
    // The key itself, with a CA and a server name as for TLS alone.
    const direct = temporalConnectionOptions(
      loadConfig({
        ...base,
        TEMPORAL_API_KEY: KEY,
        TEMPORAL_TLS_CA: file('tca2.pem', 'TCA2'),
        TEMPORAL_TLS_SERVER_NAME: 'frontend.internal',
      }),
    );
    expect(direct.apiKey).toBe(KEY);
    expect(Buffer.from(direct.tls!.serverRootCACertificate!).toString()).toBe('TCA2');
    expect(direct.tls!.serverNameOverride).toBe('frontend.internal');
    // Both at once is refused, naming the settings and not the key.
    let refusal: unknown;
    try {
      loadConfig({ ...base, TEMPORAL_API_KEY: KEY, TEMPORAL_API_KEY_FILE: keyFile });
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(ConfigError);
    expect(String(refusal)).toMatch(/TEMPORAL_API_KEY, TEMPORAL_API_KEY_FILE: set one or neither/);
    expect(String(refusal)).not.toContain(KEY);
    // A config logged whole (or its temporal part) carries neither the key nor, censored alike, its file.
    const chunks: string[] = [];
    const log = createLogger('security-test', 'info', {
      write: (s: string) => void chunks.push(s),
    });
    const withKey = loadConfig({ ...base, TEMPORAL_API_KEY: KEY });
    log.info({ config: withKey }, 'config');
    log.info({ temporal: withKey.temporal }, 'temporal');
    log.info(withKey.temporal, 'spread');
    expect(chunks.join('')).not.toContain(KEY);
    expect(chunks.join('')).toContain('"apiKey":"[redacted]"');
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
