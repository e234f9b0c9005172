import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { DATA_DIR } from './paths';
import { ConfigError, host, optionalString, parseEnv, port } from './env';

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  API_HOST: host('127.0.0.1'),
  API_PORT: port(3000),
  TEMPORAL_ADDRESS: optionalString().pipe(
    z
      .string()
      .regex(/^[^:\s]+:\d+$/, 'expected host:port')
      .optional(),
  ),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  WORKER_REGION: z.enum(['global', 'eu', 'cn']).default('global'),
  VAULT_ADDR: optionalString().pipe(z.url().optional()),
  VAULT_TOKEN: optionalString(),
  VAULT_ROLE_ID: optionalString(),
  VAULT_SECRET_ID: optionalString(),
  VAULT_CREDENTIALS_FILE: z.string().default(join(DATA_DIR, 'openbao', 'app-credentials.json')),
  VAULT_TRANSIT_MOUNT: z
    .string()
    .regex(/^[a-z0-9_-]+$/i)
    .default('transit'),
  VAULT_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
  // The local stack's settings, from which the defaults above follow when they are unset.
  STACK_HOST: host('127.0.0.1'),
  TEMPORAL_PORT: port(7233),
  VAULT_PORT: port(8200),
  STACK_POSTGRES_PORT: port(5433),
  DATABASE_URL: optionalString().pipe(z.url().optional()),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
});

/** How the app authenticates to Vault: a token, or AppRole credentials it logs in with. */
export type VaultAuth =
  { kind: 'token'; token: string } | { kind: 'approle'; roleId: string; secretId: string };

export type Config = ReturnType<typeof loadConfig>;

function vaultAuth(e: z.infer<typeof schema>): VaultAuth | undefined {
  if (e.VAULT_TOKEN) return { kind: 'token', token: e.VAULT_TOKEN };
  if (e.VAULT_ROLE_ID && e.VAULT_SECRET_ID) {
    return { kind: 'approle', roleId: e.VAULT_ROLE_ID, secretId: e.VAULT_SECRET_ID };
  }
  if (existsSync(e.VAULT_CREDENTIALS_FILE)) {
    const c = JSON.parse(readFileSync(e.VAULT_CREDENTIALS_FILE, 'utf8')) as {
      role_id?: string;
      secret_id?: string;
    };
    if (c.role_id && c.secret_id)
      return { kind: 'approle', roleId: c.role_id, secretId: c.secret_id };
  }
  return undefined;
}

/** The error a Vault client gives when `config.vault.auth` is undefined. */
export const missingVaultAuth = () =>
  new ConfigError([
    'VAULT_TOKEN or VAULT_ROLE_ID+VAULT_SECRET_ID: none set, and VAULT_CREDENTIALS_FILE holds no AppRole credentials (run `npm run stack:up`)',
  ]);

/**
 * The process configuration: read from the environment once, validated, frozen.
 * Defaults match the local stack (`npm run stack:up`). A bad value throws a ConfigError naming the variable.
 * Nothing else in the code base reads `process.env`.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const e = parseEnv(schema, env);
  return Object.freeze({
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    api: Object.freeze({ host: e.API_HOST, port: e.API_PORT }),
    temporal: Object.freeze({
      address: e.TEMPORAL_ADDRESS ?? `${e.STACK_HOST}:${e.TEMPORAL_PORT}`,
      namespace: e.TEMPORAL_NAMESPACE,
      region: e.WORKER_REGION,
    }),
    vault: Object.freeze({
      addr: (e.VAULT_ADDR ?? `http://${e.STACK_HOST}:${e.VAULT_PORT}`).replace(/\/+$/, ''),
      mount: e.VAULT_TRANSIT_MOUNT,
      timeoutMs: e.VAULT_TIMEOUT_MS,
      /** Undefined when no credentials are configured: the Vault client then refuses to start with a ConfigError. */
      auth: vaultAuth(e),
    }),
    database: Object.freeze({
      url: e.DATABASE_URL ?? `postgres://sms:sms@${e.STACK_HOST}:${e.STACK_POSTGRES_PORT}/sms`,
      poolSize: e.DATABASE_POOL_SIZE,
    }),
  });
}
