import { spawn } from 'node:child_process';
import { join } from 'node:path';

/**
 * The real entry points refuse to start in production with a development default, and say
 * which variable (never its value). Each run fails at configuration, before any connection.
 */
const root = join(__dirname, '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');

/**
 * A production-looking configuration with one development default planted by `extra` (without one,
 * it passes: test/unit/config.test.ts).
 */
const productionEnv = (extra: Record<string, string | undefined>): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  NODE_ENV: 'production',
  LOG_LEVEL: 'silent',
  API_PORT: '0',
  WORKER_METRICS_PORT: '0',
  API_METRICS_PORT: '0',
  DATABASE_URL: 'postgres://sms:prod-db-password@127.0.0.1:1/sms',
  VAULT_ADDR: 'https://127.0.0.1:1',
  VAULT_ROLE_ID: 'prod-role',
  VAULT_SECRET_ID: 'prod-secret-id',
  TEMPORAL_ADDRESS: '127.0.0.1:1',
  CARRIERS: JSON.stringify([
    {
      kind: 'http',
      name: 'carrier-x',
      baseUrl: 'https://api.carrier-x.example',
      token: 'prod-carrier-token-7f3a',
      webhookSecret: 'prod-carrier-webhook-secret-91c2',
    },
  ]),
  ...extra,
});

function run(
  entry: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, [join(root, entry)], {
      env,
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

const devCarriers = JSON.stringify([
  {
    kind: 'smpp',
    name: 'smsc-a',
    host: 'smsc.example',
    port: 2775,
    systemId: 'bank',
    password: 'sms',
  },
  {
    kind: 'http',
    name: 'http-a',
    baseUrl: 'http://127.0.0.1:2776',
    token: 'dev-carrier-token',
    webhookSecret: 'dev-carrier-webhook-secret',
  },
]);

describe('production refuses development defaults at start', () => {
  test.each([
    [
      'processes/api.ts',
      'a dev-mode Vault root token',
      { VAULT_TOKEN: 'dev-only-root-token' },
      ['VAULT_TOKEN'],
    ],
    [
      'processes/codec-server.ts',
      'a dev-mode Vault root token',
      { VAULT_TOKEN: 'dev-only-root-token' },
      ['VAULT_TOKEN'],
    ],
    [
      'processes/worker.ts',
      'a dev-mode Vault root token',
      { VAULT_TOKEN: 'dev-only-root-token' },
      ['VAULT_TOKEN'],
    ],
    [
      'processes/api.ts',
      'the default carriers (local simulators)',
      { CARRIERS: undefined },
      ['CARRIERS: unset'],
    ],
    [
      'processes/worker.ts',
      'carriers with development credentials over http',
      { CARRIERS: devCarriers },
      [
        'CARRIERS[0].password',
        'CARRIERS[1].token',
        'CARRIERS[1].webhookSecret',
        'CARRIERS[1].baseUrl',
      ],
    ],
    [
      'processes/worker.ts',
      'a plain-http anomaly webhook',
      {
        ANOMALY_WEBHOOK_URL: 'http://alerts.example/hook',
        ANOMALY_WEBHOOK_SECRET: 'an-operators-secret-of-at-least-32-chars',
      },
      ['ANOMALY_WEBHOOK_URL'],
    ],
  ])(
    '%s with %s exits 1 naming the variables, not the values',
    async (entry, _what, extra, variables) => {
      const { code, stderr } = await run(entry, productionEnv(extra));
      expect(code).toBe(1);
      expect(stderr).toContain('ConfigError');
      for (const v of variables) expect(stderr).toContain(v);
      for (const value of Object.values(extra)) if (value) expect(stderr).not.toContain(value);
      for (const value of [
        'dev-carrier-token',
        'dev-carrier-webhook-secret',
        'an-operators-secret',
      ])
        expect(stderr).not.toContain(value);
    },
  );
});
