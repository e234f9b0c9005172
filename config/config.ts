import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { parseCidr } from '../domain/outbound';
import { DATA_DIR } from './paths';
import { ConfigError, host, optionalInt, optionalString, parseEnv, port } from './env';
import { credentialsFile, VAULT_IDENTITIES, type VaultIdentity } from './stack';

/** CIDR entries (domain/outbound.ts), as a JSON array's items or a comma-separated variable. */
const cidr = z.string().refine(
  (entry) => {
    try {
      parseCidr(entry);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected an address or CIDR range like 10.0.0.0/8' },
);
/** A comma-separated list of `item`s (spaces around items ignored; empty = none). */
const commaList = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item));
const cidrList = () => commaList(cidr);

const carrierSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('smpp'),
    name: z.string().regex(/^[a-z0-9-]{1,32}$/),
    priority: z.number().int().default(100),
    /** ISO alpha-2 destinations this carrier serves; empty = all. */
    countries: z.array(z.string().length(2)).default([]),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535),
    systemId: z.string().min(1).max(16),
    password: z.string().max(9),
    /** SMPP over TLS: the bind password, numbers and bodies are never sent in clear. Say it for every real SMSC. */
    tls: z.boolean().optional(),
    /** PEM file of the CA(s) that sign the SMSC's certificate (with `tls`); unset = the system's CAs. */
    tlsCaFile: z.string().min(1).optional(),
    /** The name the SMSC's certificate must carry (with `tls`), when it is not `host`. */
    tlsServerName: z.string().min(1).optional(),
    /** Refuse an SMSC whose certificate does not verify (with `tls`; default true). `false` is for a test SMSC only. */
    tlsRejectUnauthorized: z.boolean().optional(),
    windowSize: z.number().int().min(1).max(1000).default(10),
    /** Submits per second this carrier accepts from one worker. */
    throughputPerSecond: z.number().positive().default(100),
  }),
  z.object({
    kind: z.literal('http'),
    name: z.string().regex(/^[a-z0-9-]{1,32}$/),
    priority: z.number().int().default(100),
    countries: z.array(z.string().length(2)).default([]),
    baseUrl: z.url(),
    token: z.string().min(1),
    /** Shared secret the carrier signs its receipt webhooks with. */
    webhookSecret: z.string().min(16),
    throughputPerSecond: z.number().positive().default(100),
    /**
     * Addresses this carrier's adapter may reach although outbound requests refuse them (loopback,
     * private ranges…; domain/outbound.ts): a carrier inside the operator's own network, or a simulator.
     */
    allowCidrs: z.array(cidr).default([]),
  }),
]);
export type CarrierConfig = z.infer<typeof carrierSchema>;

/** The carriers of the local stack: the bundled SMPP and HTTP simulators that `npm start` runs. */
const DEFAULT_CARRIERS = JSON.stringify([
  {
    kind: 'smpp',
    name: 'smsc-a',
    priority: 10,
    host: '127.0.0.1',
    port: 2775,
    systemId: 'sms',
    password: 'sms',
  },
  {
    kind: 'http',
    name: 'http-a',
    priority: 20,
    baseUrl: 'http://127.0.0.1:2776',
    token: 'dev-carrier-token',
    webhookSecret: 'dev-carrier-webhook-secret',
    allowCidrs: ['127.0.0.1/32'],
  },
]);

/**
 * Values that exist only for the local stack (and docker-compose's dev-mode Vault): a production
 * process refuses to start with any of them, naming the variable.
 */
const DEVELOPMENT_SECRETS = {
  vaultToken: ['dev-only-root-token', 'root'],
  carrierToken: ['dev-carrier-token'],
  carrierWebhookSecret: ['dev-carrier-webhook-secret'],
  smppPassword: ['sms'],
} as const;

/** An IPv4/IPv6 address, or one with a `/prefix` (CIDR). */
function isAddressOrCidr(text: string): boolean {
  const [addr = '', prefix, extra] = text.split('/');
  const family = isIP(addr);
  if (!family || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * `TRUST_PROXY`: empty = trust no proxy (the peer's address is the client's); else comma-separated
 * addresses or CIDRs of the proxies in front of the API, whose `X-Forwarded-For`/`-Proto` count
 * (each trusted hop in turn, from the peer outwards). Never "trust everyone", and no bare hop count:
 * either would let a client that reaches the API directly claim any address in `X-Forwarded-For`
 * (Fastify 5 itself ignores a numeric `trustProxy` for that reason).
 */
const trustProxy = z
  .string()
  .default('')
  .transform((v, ctx): string[] | undefined => {
    const text = v.trim();
    if (text === '') return undefined;
    const list = text.split(',').map((a) => a.trim());
    if (list.every(isAddressOrCidr)) return list;
    ctx.addIssue({
      code: 'custom',
      message: /^\d+$/.test(text)
        ? "a hop count cannot tell a proxy from a client that sends X-Forwarded-For itself: list the proxies' addresses or CIDRs"
        : 'expected comma-separated proxy addresses or CIDRs, e.g. 10.0.0.0/8,127.0.0.1',
    });
    return z.NEVER;
  });

const jsonOf = <T extends z.ZodType>(inner: T, fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(inner);

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  API_HOST: host('127.0.0.1'),
  API_PORT: port(3000),
  /** Proxies in front of the API whose X-Forwarded-For/-Proto are believed (see `trustProxy`). */
  TRUST_PROXY: trustProxy,
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
  /** Folder of the AppRole credentials the local stack writes, one `<identity>.json` per process kind. */
  VAULT_CREDENTIALS_DIR: z.string().default(join(DATA_DIR, 'openbao', 'approle')),
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
  /** JSON array of carriers (see .env.example); default: the local simulators. */
  CARRIERS: jsonOf(z.array(carrierSchema).min(1), DEFAULT_CARRIERS),
  /** Addresses every outbound request (callbacks, webhooks, carriers) may reach despite the denied ranges; comma-separated CIDRs. */
  OUTBOUND_ALLOW_CIDRS: cidrList(),
  /** How long a submitted message waits for its delivery receipt before it ends `unconfirmed`. */
  RECEIPT_TIMEOUT_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 86400)
    .default(3600),
  /**
   * How often each worker signals journaled receipts whose signal was lost (a crash between the
   * journal write and the signal); it also runs once when the worker starts.
   */
  RECEIPT_RECONCILE_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(3600).default(10),
  // --- sending controls: failover on a failed receipt ---
  /** Receipt error codes (comma-separated, e.g. `012,0x0c`) another carrier may fix; empty = no receipt failover. */
  RECEIPT_FAILOVER_ERROR_CODES: commaList(
    z.string().regex(/^[A-Za-z0-9:]{1,16}$/, 'expected codes like 012 or 0x0c'),
  ),
  /** How many times one message may be re-dispatched after such a receipt. */
  RECEIPT_FAILOVER_MAX_REDISPATCHES: z.coerce.number().int().min(0).max(5).default(1),
  // --- end sending controls ---
  /** Prefixes every task queue name; isolates test runs sharing one Temporal server. */
  TASK_QUEUE_PREFIX: z
    .string()
    .regex(/^[a-z0-9-]*$/)
    .default(''),
  /** Transit key wrapping the payload codec's data keys. */
  CODEC_TRANSIT_KEY: z
    .string()
    .regex(/^[a-z0-9_-]+$/)
    .default('codec-global'),
  /** How long one codec data key encrypts new payloads before a new one is drawn. */
  CODEC_KEY_ROTATION_SECONDS: z.coerce.number().int().min(1).default(3600),
  /** How long one worker's data key seals new message secrets (number, body) before a new one is drawn. */
  MESSAGE_KEY_ROTATION_SECONDS: z.coerce.number().int().min(1).default(300),
  /** The API's public base URL, given to HTTP carriers for receipt webhooks. */
  API_PUBLIC_URL: optionalString().pipe(z.url().optional()),
  /** Origins of the Temporal UI allowed to call the codec server (`/codec`) from the browser; comma-separated. */
  TEMPORAL_UI_ORIGIN: z
    .string()
    .optional()
    .transform((v) => v?.split(',').map((o) => o.trim().replace(/\/+$/, '')))
    .pipe(
      z
        .array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'expected origins like http://host:port'))
        .optional(),
    ),
  TEMPORAL_UI_PORT: port(8233),
  // --- Worker concurrency (the Temporal SDK's slots). Unset: 5 workflow tasks per core and twice
  //     that many local activities (BENCHMARKS.md: on 2 cores, 10/20 gave 11% more than the SDK's
  //     40/100), and the SDK's 100 activities (carrier submits wait on the network). ---
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: optionalInt(2, 1000),
  WORKER_MAX_CONCURRENT_ACTIVITIES: optionalInt(1, 10000),
  WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES: optionalInt(1, 10000),
  // --- Operations: metrics, anomaly detection, per-region services -----------------------------
  /**
   * Port of a worker's `/metrics`. Unset: one per region (workers/metrics-ports.ts: global 9464, eu
   * 9466, cn 9468), so a worker of each region runs on one host; 0 = any free port.
   */
  WORKER_METRICS_PORT: optionalInt(0, 65535),
  /** Port of the API's `/metrics`, a listener of its own on METRICS_HOST, never the API port (0 = any free port). */
  API_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9463),
  /** Where the `/metrics` listeners bind: loopback unless the scraper is elsewhere. */
  METRICS_HOST: host('127.0.0.1'),
  /**
   * Where the Temporal SDK's own Prometheus exporter listens (host:port); the worker's `/metrics`
   * includes it. Unset: the port after the worker's default one (9465, 9467, 9469); empty = off.
   */
  TEMPORAL_SDK_METRICS_ADDRESS: z
    .string()
    .regex(/^([^:\s]+:\d+)?$/, 'expected host:port or empty')
    .optional(),
  /**
   * Seconds between the anomaly detector's windows; 0 = the global worker does not start it.
   * Default 60, or 0 when TASK_QUEUE_PREFIX is set (test runs must not leave schedules behind).
   */
  ANOMALY_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(3600).optional(),
  /** Optional webhook each anomaly alert is POSTed to (JSON, signed like status callbacks with ANOMALY_WEBHOOK_SECRET). */
  ANOMALY_WEBHOOK_URL: optionalString().pipe(z.url().optional()),
  /** The operators' own secret for anomaly webhooks (never a tenant's); required with ANOMALY_WEBHOOK_URL. */
  ANOMALY_WEBHOOK_SECRET: optionalString().pipe(z.string().min(32).optional()),
  /** Addresses the anomaly webhook alone may reach despite the denied ranges (e.g. an internal alert receiver). */
  ANOMALY_WEBHOOK_ALLOW_CIDRS: cidrList(),
  /** Per-region Vault and PostgreSQL, for regions whose data must stay on their own services. */
  VAULT_ADDR_GLOBAL: optionalString().pipe(z.url().optional()),
  VAULT_ADDR_EU: optionalString().pipe(z.url().optional()),
  VAULT_ADDR_CN: optionalString().pipe(z.url().optional()),
  DATABASE_URL_GLOBAL: optionalString().pipe(z.url().optional()),
  DATABASE_URL_EU: optionalString().pipe(z.url().optional()),
  DATABASE_URL_CN: optionalString().pipe(z.url().optional()),
  // --- retention, purge and opt-out (README "Retention, purge and erasure") ---
  /** Default retention of a finished message's personal data, per purpose; tenants may override. */
  RETENTION_OTP_SECONDS: seconds(86_400),
  RETENTION_TRANSACTIONAL_SECONDS: seconds(30 * 86_400),
  RETENTION_MARKETING_SECONDS: seconds(90 * 86_400),
  /** How often each region's purge sweeper looks for due messages (when the last batch was not full). */
  PURGE_SWEEP_INTERVAL_SECONDS: seconds(60),
  /**
   * Purge backstop: how long past its dispatch deadline (validity end) a message may still run
   * (receipt waits, failover) before it counts as stuck; its data is due this long plus its retention
   * after the deadline even if it never finishes.
   */
  PURGE_STUCK_AFTER_SECONDS: seconds(7 * 86_400),
  /** How often an erasure checks whether the messages it waits for (still in intake) have moved on. */
  ERASURE_INTAKE_POLL_SECONDS: z.coerce.number().int().min(1).max(3600).default(2),
  /** Messages one purge activity claims and purges in one transaction. */
  PURGE_BATCH_SIZE: z.coerce.number().int().min(1).max(5000).default(200),
  /** Mobile-originated texts that opt the sender out (whole text or first word, case-insensitive). */
  OPT_OUT_KEYWORDS: z
    .string()
    .default('STOP,STOPALL,UNSUBSCRIBE,CANCEL,END,QUIT,OPTOUT,退订,TD')
    .transform((v) =>
      v
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().max(32)).min(1)),
  /** Default tenant policy: one-time codes still reach a subscriber who opted out. */
  OPT_OUT_OTP_EXEMPT: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /** How long an erasure waits for the subject's in-flight messages to finish cancelling before it purges them anyway. */
  ERASURE_CANCEL_WAIT_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  // --- sending policy (country rules, velocity, prices, spend caps) ---
  /** Length of the OTP velocity window that country rules' `otpPerWindow` counts in. */
  OTP_VELOCITY_WINDOW_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  // --- Security (issue 7): TLS, limits, quotas ---
  /** PEM files for HTTPS; both set = the API serves HTTPS only. */
  API_TLS_CERT: optionalString(),
  API_TLS_KEY: optionalString(),
  /** PEM bundle of the CAs that sign client certificates; set = mutual TLS is offered. */
  API_TLS_CA: optionalString(),
  /** With API_TLS_CA: `optional` (a certificate or an API key) or `required` (refused at the handshake without one). */
  API_TLS_CLIENT_CERT: z.enum(['optional', 'required']).default('optional'),
  /** Largest request body outside the codec server, in bytes (413 above it). */
  API_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(64 * 1024),
  /** Requests one API key (or, on public routes, one address) may make per window, per API process. */
  API_RATE_LIMIT_MAX: z.coerce.number().int().min(1).default(1200),
  API_RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86400).default(60),
  /** Failed authentications one client address may make per window, per API process, before 429. */
  AUTH_FAILURE_LIMIT: z.coerce.number().int().min(1).default(30),
  AUTH_FAILURE_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86400).default(300),
  /** Messages a tenant may send per UTC day unless tenant_quotas says otherwise. */
  SEND_QUOTA_PER_DAY: z.coerce.number().int().min(0).default(1_000_000),
  /** How often the API's start relay looks for accepted messages whose workflow is not started (other processes', failed starts). */
  WORKFLOW_START_POLL_MS: z.coerce.number().int().min(50).max(3_600_000).default(1_000),
  /** Accepted messages wait in PostgreSQL while their task queue has this many workflow tasks backlogged in Temporal (0: no limit). */
  WORKFLOW_START_MAX_BACKLOG: z.coerce.number().int().min(0).default(100),
  /** TLS to the Temporal frontend: `true`, or implied by any TEMPORAL_TLS_* path. */
  TEMPORAL_TLS: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  TEMPORAL_TLS_CA: optionalString(),
  TEMPORAL_TLS_CERT: optionalString(),
  TEMPORAL_TLS_KEY: optionalString(),
  TEMPORAL_TLS_SERVER_NAME: optionalString(),
  // Human review (reviewer API and page).
  /** How long a reviewer's claim on a review task lasts; the content is readable only meanwhile. */
  REVIEW_LEASE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
});

function seconds(fallback: number) {
  return z.coerce.number().int().min(1).default(fallback);
}

/**
 * What a production process must not run with: a development default (the local stack's carrier
 * credentials, SMPP password `sms`, a dev-mode Vault root token) or a plain-http outbound URL. Each
 * issue names the variable (and the carrier's index), never the value.
 */
function productionIssues(e: z.infer<typeof schema>, env: NodeJS.ProcessEnv): string[] {
  const issues: string[] = [];
  const dev = DEVELOPMENT_SECRETS;
  const isDev = (list: readonly string[], value: string | undefined) =>
    value !== undefined && list.includes(value);
  if (!env.CARRIERS)
    issues.push(
      'CARRIERS: unset in production; the default is the local simulators and their development credentials',
    );
  if (isDev(dev.vaultToken, e.VAULT_TOKEN))
    issues.push('VAULT_TOKEN: a development root token; use AppRole credentials in production');
  e.CARRIERS.forEach((c, i) => {
    const at = `CARRIERS[${i}]`;
    if (c.kind === 'smpp') {
      if (isDev(dev.smppPassword, c.password)) issues.push(`${at}.password: a development default`);
      if (c.tls && c.tlsRejectUnauthorized === false)
        issues.push(`${at}.tlsRejectUnauthorized: false is for a test SMSC, never production`);
      return;
    }
    if (isDev(dev.carrierToken, c.token)) issues.push(`${at}.token: a development default`);
    if (isDev(dev.carrierWebhookSecret, c.webhookSecret))
      issues.push(`${at}.webhookSecret: a development default`);
    if (!c.baseUrl.startsWith('https://'))
      issues.push(`${at}.baseUrl: https is required in production`);
  });
  if (e.ANOMALY_WEBHOOK_URL && !e.ANOMALY_WEBHOOK_URL.startsWith('https://'))
    issues.push('ANOMALY_WEBHOOK_URL: https is required in production');
  return issues;
}

/** How the app authenticates to Vault: a token, or AppRole credentials it logs in with. */
export type VaultAuth =
  { kind: 'token'; token: string } | { kind: 'approle'; roleId: string; secretId: string };

export type Config = ReturnType<typeof loadConfig>;

/** Credentials set in the environment: they apply to this process whatever its identity (docker-compose, production). */
function explicitVaultAuth(e: z.infer<typeof schema>): VaultAuth | undefined {
  if (e.VAULT_TOKEN) return { kind: 'token', token: e.VAULT_TOKEN };
  if (e.VAULT_ROLE_ID && e.VAULT_SECRET_ID) {
    return { kind: 'approle', roleId: e.VAULT_ROLE_ID, secretId: e.VAULT_SECRET_ID };
  }
  return undefined;
}

/** The AppRole credentials the local stack wrote for each identity (absent files: undefined). */
function stackIdentities(dir: string): Partial<Record<VaultIdentity, VaultAuth>> {
  const out: Partial<Record<VaultIdentity, VaultAuth>> = {};
  for (const identity of VAULT_IDENTITIES) {
    const file = credentialsFile(dir, identity);
    if (!existsSync(file)) continue;
    const c = JSON.parse(readFileSync(file, 'utf8')) as { role_id?: string; secret_id?: string };
    if (c.role_id && c.secret_id)
      out[identity] = { kind: 'approle', roleId: c.role_id, secretId: c.secret_id };
  }
  return out;
}

/**
 * The Vault credentials of a process of kind `identity` (`api`, `worker-<region>`): those set in the
 * environment (VAULT_ROLE_ID + VAULT_SECRET_ID, or VAULT_TOKEN), else the identity's file from the
 * local stack. Undefined when there are none (the Vault client then refuses with a ConfigError).
 */
export function vaultAuthFor(config: Config, identity: VaultIdentity): VaultAuth | undefined {
  return config.vault.auth ?? config.vault.identities[identity];
}

/** The error a Vault client gives when `config.vault.auth` is undefined. */
export const missingVaultAuth = () =>
  new ConfigError([
    "VAULT_ROLE_ID+VAULT_SECRET_ID (or VAULT_TOKEN): none set, and VAULT_CREDENTIALS_DIR holds no AppRole credentials for this process's identity (run `npm run stack:up`)",
  ]);

/**
 * The process configuration: read from the environment once, validated, frozen.
 * Defaults match the local stack (`npm run stack:up`). A bad value throws a ConfigError naming the variable.
 * Nothing else in the code base reads `process.env`.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const e = parseEnv(schema, env);
  const pairs = [
    ['API_TLS_CERT', 'API_TLS_KEY'],
    ['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY'],
  ] as const;
  const unpaired = pairs.flatMap(([a, b]) =>
    Boolean(e[a]) === Boolean(e[b]) ? [] : [`${a}, ${b}: set both or neither`],
  );
  if (e.API_TLS_CA && !e.API_TLS_CERT)
    unpaired.push('API_TLS_CA: needs API_TLS_CERT and API_TLS_KEY');
  if (e.ANOMALY_WEBHOOK_URL && !e.ANOMALY_WEBHOOK_SECRET)
    unpaired.push('ANOMALY_WEBHOOK_SECRET: required when ANOMALY_WEBHOOK_URL is set');
  if (e.NODE_ENV === 'production') unpaired.push(...productionIssues(e, env));
  if (unpaired.length) throw new ConfigError(unpaired);
  const workflowTasks = e.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS ?? 5 * availableParallelism();
  return Object.freeze({
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    api: Object.freeze({
      host: e.API_HOST,
      port: e.API_PORT,
      /**
       * Fastify's `trustProxy`: proxy hops or addresses/CIDRs whose forwarding headers give the
       * client's address (IP allowlists, limits) and protocol (`Secure` cookies); undefined = none.
       */
      trustProxy: e.TRUST_PROXY,
      /** HTTPS when both paths are set (files are read when the app is built). */
      tls:
        e.API_TLS_CERT && e.API_TLS_KEY
          ? Object.freeze({
              certPath: e.API_TLS_CERT,
              keyPath: e.API_TLS_KEY,
              caPath: e.API_TLS_CA,
              clientCert: e.API_TLS_CLIENT_CERT,
            })
          : undefined,
      bodyLimit: e.API_BODY_LIMIT_BYTES,
      rateLimit: Object.freeze({
        max: e.API_RATE_LIMIT_MAX,
        windowMs: e.API_RATE_LIMIT_WINDOW_SECONDS * 1000,
      }),
      /** Failed authentications per address (api/plugins/auth-failures.ts). */
      authFailures: Object.freeze({
        max: e.AUTH_FAILURE_LIMIT,
        windowMs: e.AUTH_FAILURE_WINDOW_SECONDS * 1000,
      }),
      sendQuotaPerDay: e.SEND_QUOTA_PER_DAY,
      startRelayPollMs: e.WORKFLOW_START_POLL_MS,
      startRelayMaxBacklog: e.WORKFLOW_START_MAX_BACKLOG,
    }),
    temporal: Object.freeze({
      address: e.TEMPORAL_ADDRESS ?? `${e.STACK_HOST}:${e.TEMPORAL_PORT}`,
      namespace: e.TEMPORAL_NAMESPACE,
      region: e.WORKER_REGION,
      taskQueuePrefix: e.TASK_QUEUE_PREFIX,
      /** Undefined = plaintext gRPC (the local dev server). */
      tls:
        e.TEMPORAL_TLS || e.TEMPORAL_TLS_CA || e.TEMPORAL_TLS_CERT
          ? Object.freeze({
              caPath: e.TEMPORAL_TLS_CA,
              certPath: e.TEMPORAL_TLS_CERT,
              keyPath: e.TEMPORAL_TLS_KEY,
              serverName: e.TEMPORAL_TLS_SERVER_NAME,
            })
          : undefined,
    }),
    codec: Object.freeze({
      transitKey: e.CODEC_TRANSIT_KEY,
      rotateAfterMs: e.CODEC_KEY_ROTATION_SECONDS * 1000,
      /** Browser origins (the Temporal UI) the codec server answers CORS requests from. */
      // Default: the local stack's UI, by IP and by name.
      uiOrigins: Object.freeze(
        e.TEMPORAL_UI_ORIGIN ?? [
          `http://${e.STACK_HOST}:${e.TEMPORAL_UI_PORT}`,
          `http://localhost:${e.TEMPORAL_UI_PORT}`,
        ],
      ),
    }),
    messageSecrets: Object.freeze({ rotateAfterMs: e.MESSAGE_KEY_ROTATION_SECONDS * 1000 }),
    carriers: Object.freeze(e.CARRIERS),
    /**
     * Outbound HTTP (clients/outbound-http.ts): https only in production; `allowCidrs` may be reached
     * by every outbound request despite the denied ranges (carriers add their own `allowCidrs`).
     */
    outbound: Object.freeze({
      httpsOnly: e.NODE_ENV === 'production',
      allowCidrs: Object.freeze(e.OUTBOUND_ALLOW_CIDRS),
    }),
    receiptTimeoutSeconds: e.RECEIPT_TIMEOUT_SECONDS,
    receiptReconcileIntervalSeconds: e.RECEIPT_RECONCILE_INTERVAL_SECONDS,
    sendingPolicy: Object.freeze({ velocityWindowMs: e.OTP_VELOCITY_WINDOW_SECONDS * 1000 }),
    receiptFailover: Object.freeze({
      errorCodes: e.RECEIPT_FAILOVER_ERROR_CODES,
      maxRedispatches: e.RECEIPT_FAILOVER_MAX_REDISPATCHES,
    }),
    review: Object.freeze({ leaseSeconds: e.REVIEW_LEASE_SECONDS }),
    publicUrl: e.API_PUBLIC_URL ?? `http://${e.API_HOST}:${e.API_PORT}`,
    vault: Object.freeze({
      addr: (e.VAULT_ADDR ?? `http://${e.STACK_HOST}:${e.VAULT_PORT}`).replace(/\/+$/, ''),
      mount: e.VAULT_TRANSIT_MOUNT,
      timeoutMs: e.VAULT_TIMEOUT_MS,
      /** Credentials from the environment, for every identity of this process; else `identities` (see `vaultAuthFor`). */
      auth: explicitVaultAuth(e),
      /** The local stack's AppRole credentials per identity (VAULT_CREDENTIALS_DIR). */
      identities: Object.freeze(stackIdentities(e.VAULT_CREDENTIALS_DIR)),
    }),
    retention: Object.freeze({
      defaults: Object.freeze({
        otp: e.RETENTION_OTP_SECONDS,
        transactional: e.RETENTION_TRANSACTIONAL_SECONDS,
        marketing: e.RETENTION_MARKETING_SECONDS,
      }),
      sweepIntervalSeconds: e.PURGE_SWEEP_INTERVAL_SECONDS,
      batchSize: e.PURGE_BATCH_SIZE,
      erasureCancelWaitSeconds: e.ERASURE_CANCEL_WAIT_SECONDS,
      erasureIntakePollSeconds: e.ERASURE_INTAKE_POLL_SECONDS,
      stuckAfterSeconds: e.PURGE_STUCK_AFTER_SECONDS,
    }),
    optOut: Object.freeze({
      keywords: Object.freeze(e.OPT_OUT_KEYWORDS),
      otpExempt: e.OPT_OUT_OTP_EXEMPT,
    }),
    database: Object.freeze({
      url: e.DATABASE_URL ?? `postgres://sms:sms@${e.STACK_HOST}:${e.STACK_POSTGRES_PORT}/sms`,
      poolSize: e.DATABASE_POOL_SIZE,
    }),
    worker: Object.freeze({
      maxConcurrentWorkflowTaskExecutions: workflowTasks,
      maxConcurrentActivityTaskExecutions: e.WORKER_MAX_CONCURRENT_ACTIVITIES ?? 100,
      maxConcurrentLocalActivityExecutions:
        e.WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES ?? 2 * workflowTasks,
    }),
    metrics: Object.freeze({
      host: e.METRICS_HOST,
      /** Unset: the region's default (workers/metrics-ports.ts). */
      workerPort: e.WORKER_METRICS_PORT,
      apiPort: e.API_METRICS_PORT,
      /** Unset: the region's default; '' = the SDK exporter is off. */
      sdkAddress: e.TEMPORAL_SDK_METRICS_ADDRESS,
    }),
    anomaly: Object.freeze({
      intervalSeconds: e.ANOMALY_INTERVAL_SECONDS ?? (e.TASK_QUEUE_PREFIX ? 0 : 60),
      webhook: e.ANOMALY_WEBHOOK_URL
        ? Object.freeze({
            url: e.ANOMALY_WEBHOOK_URL,
            secret: e.ANOMALY_WEBHOOK_SECRET!,
            allowCidrs: Object.freeze(e.ANOMALY_WEBHOOK_ALLOW_CIDRS),
          })
        : undefined,
    }),
    /** Per-region overrides of the Vault address and database URL (unset = the shared ones). */
    regions: Object.freeze({
      global: Object.freeze({ vaultAddr: e.VAULT_ADDR_GLOBAL, databaseUrl: e.DATABASE_URL_GLOBAL }),
      eu: Object.freeze({ vaultAddr: e.VAULT_ADDR_EU, databaseUrl: e.DATABASE_URL_EU }),
      cn: Object.freeze({ vaultAddr: e.VAULT_ADDR_CN, databaseUrl: e.DATABASE_URL_CN }),
    }),
  });
}
