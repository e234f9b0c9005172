import { availableParallelism } from 'node:os';
import { ConfigError } from '../../config/env';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, vaultAuthFor } from '../../config/config';
import { loadStackConfig } from '../../config/stack';

describe('configuration', () => {
  test('defaults match the local stack', () => {
    const c = loadConfig({ VAULT_CREDENTIALS_DIR: '/nonexistent' });
    expect(c.api.port).toBe(3000);
    expect(c.temporal.address).toBe('127.0.0.1:7233');
    expect(c.vault.addr).toBe('http://127.0.0.1:8200');
    expect(c.database.url).toBe('postgres://sms:sms@127.0.0.1:5433/sms');
    expect(c.vault.auth).toBeUndefined();
    expect(c.vault.identities).toEqual({});
    expect(Object.isFrozen(c)).toBe(true);
  });

  test('each process kind gets its own Vault identity; credentials in the environment win', () => {
    const dir = mkdtempSync(join(tmpdir(), 'approle-'));
    for (const identity of ['api', 'worker-eu'])
      writeFileSync(
        join(dir, `${identity}.json`),
        JSON.stringify({ role_id: `role-${identity}`, secret_id: `secret-${identity}` }),
      );
    const c = loadConfig({ VAULT_CREDENTIALS_DIR: dir });
    expect(vaultAuthFor(c, 'api')).toEqual({
      kind: 'approle',
      roleId: 'role-api',
      secretId: 'secret-api',
    });
    expect(vaultAuthFor(c, 'worker-eu')).toMatchObject({ roleId: 'role-worker-eu' });
    expect(vaultAuthFor(c, 'worker-cn')).toBeUndefined();
    const set = loadConfig({
      VAULT_CREDENTIALS_DIR: dir,
      VAULT_ROLE_ID: 'r',
      VAULT_SECRET_ID: 's',
    });
    expect(vaultAuthFor(set, 'worker-cn')).toEqual({ kind: 'approle', roleId: 'r', secretId: 's' });
  });

  test('worker concurrency: 5 workflow tasks per core and twice that many local activities unless set', () => {
    const cores = availableParallelism();
    expect(loadConfig({}).worker).toEqual({
      maxConcurrentWorkflowTaskExecutions: 5 * cores,
      maxConcurrentActivityTaskExecutions: 100,
      maxConcurrentLocalActivityExecutions: 10 * cores,
    });
    // Empty, as .env.example leaves them, is unset.
    expect(loadConfig({ WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '' }).worker).toEqual(
      loadConfig({}).worker,
    );
    expect(
      loadConfig({
        WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '7',
        WORKER_MAX_CONCURRENT_ACTIVITIES: '30',
      }).worker,
    ).toEqual({
      maxConcurrentWorkflowTaskExecutions: 7,
      maxConcurrentActivityTaskExecutions: 30,
      maxConcurrentLocalActivityExecutions: 14,
    });
    expect(() => loadConfig({ WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '1' })).toThrow(
      /WORKER_MAX_CONCURRENT_WORKFLOW_TASKS/,
    );
    expect(() => loadConfig({ WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES: 'many' })).toThrow(
      /WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES/,
    );
  });

  test('a wrong value stops with a message naming the variable, not its value', () => {
    expect(() => loadConfig({ API_PORT: 'seventy' })).toThrow(ConfigError);
    expect(() => loadConfig({ API_PORT: 'seventy' })).toThrow(/API_PORT/);
    expect(() => loadConfig({ TEMPORAL_ADDRESS: 'no-port-here' })).toThrow(/TEMPORAL_ADDRESS/);
    expect(() => loadConfig({ DATABASE_URL: 'not a url s3cret' })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ DATABASE_URL: 'not a url s3cret' })).not.toThrow(/s3cret/);
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
  });

  test('TRUST_PROXY: proxy addresses or CIDRs; empty trusts none; a hop count or garbage is refused', () => {
    expect(loadConfig({}).api.trustProxy).toBeUndefined();
    expect(loadConfig({ TRUST_PROXY: '' }).api.trustProxy).toBeUndefined();
    expect(
      loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1,fd00::/8' }).api.trustProxy,
    ).toEqual(['10.0.0.0/8', '127.0.0.1', '::1', 'fd00::/8']);
    expect(() => loadConfig({ TRUST_PROXY: '1' })).toThrow(/TRUST_PROXY: a hop count/);
    for (const bad of ['true', '10.0.0.0/33', 'proxy.local', '10.0.0.1/8/1'])
      expect(() => loadConfig({ TRUST_PROXY: bad })).toThrow(/TRUST_PROXY/);
  });

  test('the API metrics listener and the failed-authentication limit', () => {
    const c = loadConfig({});
    expect(c.metrics).toMatchObject({ host: '127.0.0.1', apiPort: 9463 });
    expect(c.api.authFailures).toEqual({ max: 30, windowMs: 300_000 });
    expect(
      loadConfig({ AUTH_FAILURE_LIMIT: '5', AUTH_FAILURE_WINDOW_SECONDS: '10' }).api.authFailures,
    ).toEqual({ max: 5, windowMs: 10_000 });
    expect(() => loadConfig({ AUTH_FAILURE_LIMIT: '0' })).toThrow(/AUTH_FAILURE_LIMIT/);
  });

  test('Vault auth: a token wins, then AppRole variables', () => {
    expect(
      loadConfig({ VAULT_TOKEN: 't', VAULT_ROLE_ID: 'r', VAULT_SECRET_ID: 's' }).vault.auth,
    ).toEqual({ kind: 'token', token: 't' });
    expect(loadConfig({ VAULT_ROLE_ID: 'r', VAULT_SECRET_ID: 's' }).vault.auth).toEqual({
      kind: 'approle',
      roleId: 'r',
      secretId: 's',
    });
  });

  test('DATABASE_URL overrides the local server, and the stack then skips PostgreSQL', () => {
    const url = 'postgres://u:p@db.internal:5432/sms';
    expect(loadConfig({ DATABASE_URL: url }).database.url).toBe(url);
    expect(loadStackConfig({ DATABASE_URL: url }).postgres.external).toBe(url);
    expect(loadStackConfig({}).postgres.external).toBeUndefined();
  });

  test('the stack says which Temporal it runs: dev unless STACK_TEMPORAL says server', () => {
    expect(loadStackConfig({}).temporal.flavour).toBe('dev');
    expect(loadStackConfig({ STACK_TEMPORAL: 'server' }).temporal.flavour).toBe('server');
    expect(() => loadStackConfig({ STACK_TEMPORAL: 'cloud' })).toThrow(/STACK_TEMPORAL/);
  });

  test('stack ports are configurable', () => {
    const s = loadStackConfig({
      TEMPORAL_PORT: '17233',
      VAULT_PORT: '18200',
      STACK_POSTGRES_PORT: '15433',
    });
    expect([s.temporal.port, s.vault.port, s.postgres.port]).toEqual([17233, 18200, 15433]);
    expect(s.vault.addr).toBe('http://127.0.0.1:18200');
    expect(() => loadStackConfig({ VAULT_PORT: '99999' })).toThrow(/VAULT_PORT/);
    // The app's defaults follow the stack's ports.
    const c = loadConfig({
      TEMPORAL_PORT: '17233',
      VAULT_PORT: '18200',
      STACK_POSTGRES_PORT: '15433',
    });
    expect([c.temporal.address, c.vault.addr]).toEqual([
      '127.0.0.1:17233',
      'http://127.0.0.1:18200',
    ]);
    expect(c.database.url).toBe('postgres://sms:sms@127.0.0.1:15433/sms');
    expect(loadConfig({ TEMPORAL_UI_PORT: '18233' }).codec.uiOrigins).toEqual([
      'http://127.0.0.1:18233',
      'http://localhost:18233',
    ]);
    expect(loadConfig({ TEMPORAL_UI_ORIGIN: 'https://ui.example.com/' }).codec.uiOrigins).toEqual([
      'https://ui.example.com',
    ]);
  });

  test('outbound: allowlists are CIDRs, https only in production, the anomaly webhook has its own secret', () => {
    const c = loadConfig({ OUTBOUND_ALLOW_CIDRS: '127.0.0.3/32, 10.1.0.0/16' });
    expect(c.outbound).toEqual({ httpsOnly: false, allowCidrs: ['127.0.0.3/32', '10.1.0.0/16'] });
    expect(loadConfig({}).outbound.allowCidrs).toEqual([]);
    // The default carriers are the local simulators: the HTTP one on loopback, allowlisted for itself.
    expect(loadConfig({}).carriers.find((x) => x.kind === 'http')).toMatchObject({
      allowCidrs: ['127.0.0.1/32'],
    });
    expect(() => loadConfig({ OUTBOUND_ALLOW_CIDRS: '10.0.0.0/33' })).toThrow(
      /OUTBOUND_ALLOW_CIDRS/,
    );
    expect(() => loadConfig({ ANOMALY_WEBHOOK_URL: 'https://alerts.example/hook' })).toThrow(
      /ANOMALY_WEBHOOK_SECRET: required/,
    );
    const hook = loadConfig({
      ANOMALY_WEBHOOK_URL: 'https://alerts.example/hook',
      ANOMALY_WEBHOOK_SECRET: 'operators-own-secret-0123456789abcdef',
      ANOMALY_WEBHOOK_ALLOW_CIDRS: '10.9.0.0/16',
    }).anomaly.webhook;
    expect(hook).toEqual({
      url: 'https://alerts.example/hook',
      secret: 'operators-own-secret-0123456789abcdef',
      allowCidrs: ['10.9.0.0/16'],
    });
  });

  test('production refuses development defaults, naming the variable and never the value', () => {
    const prod = {
      NODE_ENV: 'production',
      VAULT_CREDENTIALS_FILE: '/nonexistent',
      CARRIERS: JSON.stringify([
        {
          kind: 'http',
          name: 'carrier-x',
          baseUrl: 'https://api.carrier-x.example',
          token: 'prod-token-7f3a',
          webhookSecret: 'prod-webhook-secret-91c2',
        },
        {
          kind: 'smpp',
          name: 'smsc-x',
          host: 'smsc.example',
          port: 2775,
          systemId: 'bank',
          password: 'pw-8b1e',
        },
      ]),
    };
    const ok = loadConfig(prod);
    expect(ok.outbound.httpsOnly).toBe(true);
    const issues = (env: Record<string, string | undefined>) => {
      try {
        loadConfig({ ...prod, ...env });
        return [];
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return [...(err as ConfigError).issues];
      }
    };
    expect(issues({ VAULT_TOKEN: 'dev-only-root-token' })).toEqual([
      expect.stringMatching(/^VAULT_TOKEN: /),
    ]);
    expect(issues({ CARRIERS: undefined })).toEqual([
      expect.stringMatching(/^CARRIERS: unset in production/),
      'CARRIERS[0].password: a development default',
      'CARRIERS[1].token: a development default',
      'CARRIERS[1].webhookSecret: a development default',
      'CARRIERS[1].baseUrl: https is required in production',
    ]);
    expect(
      issues({
        ANOMALY_WEBHOOK_URL: 'http://alerts.example/hook',
        ANOMALY_WEBHOOK_SECRET: 'operators-own-secret-0123456789abcdef',
      }),
    ).toEqual(['ANOMALY_WEBHOOK_URL: https is required in production']);
    expect(JSON.stringify(issues({ CARRIERS: undefined }))).not.toMatch(/dev-carrier|"sms"/);
    const unverifiedSmsc = JSON.stringify([
      { ...JSON.parse(prod.CARRIERS)[1], tls: true, tlsRejectUnauthorized: false },
    ]);
    expect(issues({ CARRIERS: unverifiedSmsc })).toEqual([
      'CARRIERS[0].tlsRejectUnauthorized: false is for a test SMSC, never production',
    ]);
  });
});
