import { join } from 'node:path';
import { z } from 'zod';
import { carrierSchema, DEFAULT_CARRIERS } from './carriers';
import { host, optionalInt, optionalString, port } from './env';
import { DATA_DIR } from './paths';
import { cidrList, commaList, flag, int, jsonOf, seconds, trustProxy } from './setting-types';

/**
 * Every environment variable the API and the workers read, once, in one place: its name, how its
 * text is validated, its default (`.default`, as the variable's text) and what it does
 * (`.describe`). Grouped by area; `loadConfig` (config/config.ts) turns them into the typed config,
 * and config/settings-reference.ts lists them as data (name, area, default, description) for
 * generated documentation. A default that follows from other settings is said in the description.
 */

/** An optional URL setting. */
const optionalUrl = (description: string) =>
  optionalString().pipe(z.url().optional()).describe(description);

const general = {
  NODE_ENV: z
    .enum(['development', 'test', 'production'])
    .default('development')
    .describe('`production` refuses development credentials and plain-http outbound URLs'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('Log level of every process'),
};

const localStack = {
  STACK_HOST: host('127.0.0.1').describe(
    "Host of the local stack's services, from which the Temporal, Vault and PostgreSQL defaults follow",
  ),
  TEMPORAL_PORT: port(7233).describe(
    "The local stack's Temporal port (with TEMPORAL_ADDRESS unset)",
  ),
  VAULT_PORT: port(8200).describe("The local stack's OpenBao port (with VAULT_ADDR unset)"),
  STACK_POSTGRES_PORT: port(5433).describe(
    "The local stack's PostgreSQL port (with DATABASE_URL unset)",
  ),
};

const api = {
  API_HOST: host('127.0.0.1').describe('Address the API listens on'),
  API_PORT: port(3000).describe('Port the API listens on'),
  TRUST_PROXY: trustProxy.describe(
    'Comma-separated addresses or CIDRs of the proxies in front of the API whose X-Forwarded-For/-Proto are believed; empty = none (never a hop count)',
  ),
  API_PUBLIC_URL: optionalUrl(
    "The API's public base URL, given to HTTP carriers for receipt webhooks; unset = http://API_HOST:API_PORT",
  ),
  API_TLS_CERT: optionalString().describe(
    'PEM certificate file for HTTPS; with API_TLS_KEY the API serves HTTPS only',
  ),
  API_TLS_KEY: optionalString().describe('PEM private key file for HTTPS (with API_TLS_CERT)'),
  API_TLS_CA: optionalString().describe(
    'PEM bundle of the CAs that sign client certificates; set = mutual TLS is offered',
  ),
  API_TLS_CLIENT_CERT: z
    .enum(['optional', 'required'])
    .default('optional')
    .describe(
      'With API_TLS_CA: `optional` (a certificate or an API key) or `required` (refused at the handshake without one)',
    ),
  API_BODY_LIMIT_BYTES: int(64 * 1024, 1024, 16 * 1024 * 1024).describe(
    'Largest request body outside the codec server, in bytes (413 above it)',
  ),
  API_RATE_LIMIT_MAX: int(1200, 1).describe(
    'Requests one API key (or, on public routes, one address) may make per window, per API process',
  ),
  API_RATE_LIMIT_WINDOW_SECONDS: int(60, 1, 86400).describe(
    'Length of the API_RATE_LIMIT_MAX window',
  ),
  AUTH_FAILURE_LIMIT: int(30, 1).describe(
    'Failed authentications one client address may make per window, per API process, before 429',
  ),
  AUTH_FAILURE_WINDOW_SECONDS: int(300, 1, 86400).describe(
    'Length of the AUTH_FAILURE_LIMIT window',
  ),
  SEND_QUOTA_PER_DAY: int(1_000_000, 0).describe(
    'Messages a tenant may send per UTC day unless tenant_quotas says otherwise',
  ),
  OTP_VELOCITY_WINDOW_SECONDS: int(60, 1, 3600).describe(
    "Length of the OTP velocity window that country rules' `otpPerWindow` counts in",
  ),
  WORKFLOW_START_POLL_MS: int(1_000, 50, 3_600_000).describe(
    "How often the API's start relay looks for accepted messages whose workflow is not started (other processes', failed starts)",
  ),
  WORKFLOW_START_LEASE_MS: int(30_000, 1_000, 3_600_000).describe(
    "How long an API's start relay holds a leased start before another API process may take it over (a relay that died mid-burst leaves its starts for this long)",
  ),
  WORKFLOW_START_MAX_BACKLOG: int(100, 0).describe(
    'Accepted messages wait in PostgreSQL while their task queue has this many workflow tasks backlogged in Temporal (0: no limit)',
  ),
  REVIEW_LEASE_SECONDS: int(600, 1, 86_400).describe(
    "How long a reviewer's claim on a review task lasts; the content is readable only meanwhile",
  ),
};

const temporal = {
  TEMPORAL_ADDRESS: optionalString()
    .pipe(
      z
        .string()
        .regex(/^[^:\s]+:\d+$/, 'expected host:port')
        .optional(),
    )
    .describe('Temporal frontend as host:port; unset = STACK_HOST:TEMPORAL_PORT'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default').describe('Temporal namespace'),
  WORKER_REGION: z
    .enum(['global', 'eu', 'cn'])
    .default('global')
    .describe("The worker's region (its task queue) when `--region` is not given"),
  TASK_QUEUE_PREFIX: z
    .string()
    .regex(/^[a-z0-9-]*$/)
    .default('')
    .describe('Prefixes every task queue name; isolates test runs sharing one Temporal server'),
  TEMPORAL_TLS: flag('false').describe(
    'TLS to the Temporal frontend: `true`, or implied by any TEMPORAL_TLS_* path',
  ),
  TEMPORAL_TLS_CA: optionalString().describe("PEM file of the CA(s) of Temporal's certificate"),
  TEMPORAL_TLS_CERT: optionalString().describe(
    'PEM client certificate for mutual TLS to Temporal (with TEMPORAL_TLS_KEY)',
  ),
  TEMPORAL_TLS_KEY: optionalString().describe(
    'PEM private key of TEMPORAL_TLS_CERT (with TEMPORAL_TLS_CERT)',
  ),
  TEMPORAL_TLS_SERVER_NAME: optionalString().describe(
    "The name Temporal's certificate must carry, when it is not the address's host",
  ),
  TEMPORAL_API_KEY_FILE: optionalString().describe(
    "File holding a Temporal Cloud API key (e.g. a mounted Kubernetes Secret), read at connect time; sent as a bearer token, implies TLS (the system's CAs unless TEMPORAL_TLS_CA)",
  ),
  TEMPORAL_API_KEY: optionalString().describe(
    'A Temporal Cloud API key itself, as TEMPORAL_API_KEY_FILE (prefer the file: an environment is easier to leak); set one or neither',
  ),
  CODEC_HOST: host('127.0.0.1').describe(
    "Address the codec server (`processes/codec-server.ts`, the Temporal UI's `/codec`) listens on",
  ),
  CODEC_PORT: port(8089).describe('Port the codec server listens on'),
  CODEC_PUBLIC_URL: optionalUrl(
    "The codec server's public base URL, shown on its sign-in page; unset = http://CODEC_HOST:CODEC_PORT",
  ),
  TEMPORAL_UI_ORIGIN: z
    .string()
    .optional()
    .transform((v) => v?.split(',').map((o) => o.trim().replace(/\/+$/, '')))
    .pipe(
      z
        .array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'expected origins like http://host:port'))
        .optional(),
    )
    .describe(
      'Origins of the Temporal UI allowed to call the codec server (`/codec`) from the browser, comma-separated; unset = the local UI on STACK_HOST and localhost',
    ),
  TEMPORAL_UI_PORT: port(8233).describe(
    "The local Temporal UI's port, for the TEMPORAL_UI_ORIGIN default",
  ),
  // Worker concurrency (the Temporal SDK's slots). Unset: 5 workflow tasks per core and twice that
  // many local activities (docs/benchmarks.md: on 2 cores, 10/20 gave 11% more than the SDK's
  // 40/100), and the SDK's 100 activities (carrier submits wait on the network).
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: optionalInt(2, 1000).describe(
    'Workflow tasks a worker runs at once; unset = 5 per core',
  ),
  WORKER_MAX_CONCURRENT_ACTIVITIES: optionalInt(1, 10000).describe(
    'Activities a worker runs at once; unset = 100',
  ),
  WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES: optionalInt(1, 10000).describe(
    'Local activities a worker runs at once; unset = twice the workflow tasks',
  ),
};

const vault = {
  VAULT_ADDR: optionalUrl('Vault (OpenBao) address; unset = http://STACK_HOST:VAULT_PORT'),
  VAULT_TOKEN: optionalString().describe(
    'A Vault token for this process (development); production uses AppRole',
  ),
  VAULT_ROLE_ID: optionalString().describe("This process's AppRole role id (with VAULT_SECRET_ID)"),
  VAULT_SECRET_ID: optionalString().describe(
    "This process's AppRole secret id (with VAULT_ROLE_ID)",
  ),
  VAULT_CREDENTIALS_DIR: z
    .string()
    .default(join(DATA_DIR, 'openbao', 'approle'))
    .describe(
      'Folder of the AppRole credentials the local stack writes, one `<identity>.json` per process kind',
    ),
  VAULT_TRANSIT_MOUNT: z
    .string()
    .regex(/^[a-z0-9_-]+$/i)
    .default('transit')
    .describe("Mount path of Vault's transit engine"),
  VAULT_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(5000)
    .describe('Timeout of one Vault request'),
  CODEC_TRANSIT_KEY: z
    .string()
    .regex(/^[a-z0-9_-]+$/)
    .default('codec-global')
    .describe("Transit key wrapping the payload codec's data keys"),
  CODEC_KEY_ROTATION_SECONDS: int(3600, 1).describe(
    'How long one codec data key encrypts new payloads before a new one is drawn',
  ),
  MESSAGE_KEY_ROTATION_SECONDS: int(300, 1).describe(
    "How long one process's data key seals new message secrets (number, body) before a new one is drawn",
  ),
};

const database = {
  DATABASE_URL: optionalUrl(
    "PostgreSQL URL; unset = the local stack's database on STACK_HOST:STACK_POSTGRES_PORT",
  ),
  DATABASE_POOL_SIZE: int(10, 1, 200).describe("Connections in one process's PostgreSQL pool"),
};

/** Per-region Vault and PostgreSQL, for regions whose data must stay on their own services. */
const regionOverride = (region: string, service: 'Vault address' | 'PostgreSQL URL') =>
  optionalUrl(
    `The ${region} region's own ${service}; unset = ${service === 'Vault address' ? 'VAULT_ADDR' : 'DATABASE_URL'}`,
  );

const regions = {
  VAULT_ADDR_GLOBAL: regionOverride('global', 'Vault address'),
  VAULT_ADDR_EU: regionOverride('eu', 'Vault address'),
  VAULT_ADDR_CN: regionOverride('cn', 'Vault address'),
  DATABASE_URL_GLOBAL: regionOverride('global', 'PostgreSQL URL'),
  DATABASE_URL_EU: regionOverride('eu', 'PostgreSQL URL'),
  DATABASE_URL_CN: regionOverride('cn', 'PostgreSQL URL'),
};

const carriers = {
  CARRIERS: jsonOf(z.array(carrierSchema).min(1), DEFAULT_CARRIERS).describe(
    'JSON array of carriers (see .env.example); default: the local simulators',
  ),
  OUTBOUND_ALLOW_CIDRS: cidrList().describe(
    'Addresses every outbound request (callbacks, webhooks, carriers) may reach despite the denied ranges; comma-separated CIDRs',
  ),
  RECEIPT_TIMEOUT_SECONDS: int(3600, 1, 7 * 86400).describe(
    'How long a submitted message waits for its delivery receipt before it ends `unconfirmed`',
  ),
  RECEIPT_RECONCILE_INTERVAL_SECONDS: int(10, 1, 3600).describe(
    'How often each worker signals journaled receipts whose signal was lost (a crash between the journal write and the signal); it also runs once when the worker starts',
  ),
  RECEIPT_FAILOVER_ERROR_CODES: commaList(
    z.string().regex(/^[A-Za-z0-9:]{1,16}$/, 'expected codes like 012 or 0x0c'),
  ).describe(
    'Receipt error codes (comma-separated, e.g. `012,0x0c`) another carrier may fix; empty = no receipt failover',
  ),
  RECEIPT_FAILOVER_MAX_REDISPATCHES: int(1, 0, 5).describe(
    'How many times one message may be re-dispatched after such a receipt',
  ),
};

const operations = {
  WORKER_METRICS_PORT: optionalInt(0, 65535).describe(
    "Port of a worker's `/metrics`; unset = one per region (global 9464, eu 9466, cn 9468, workers/metrics-ports.ts); 0 = any free port",
  ),
  API_METRICS_PORT: int(9463, 0, 65535).describe(
    "Port of the API's `/metrics`, a listener of its own on METRICS_HOST, never the API port (0 = any free port)",
  ),
  METRICS_HOST: host('127.0.0.1').describe(
    'Where the `/metrics` listeners bind: loopback unless the scraper is elsewhere',
  ),
  TEMPORAL_SDK_METRICS_ADDRESS: z
    .string()
    .regex(/^([^:\s]+:\d+)?$/, 'expected host:port or empty')
    .optional()
    .describe(
      "Where the Temporal SDK's own Prometheus exporter listens (host:port), included in the worker's `/metrics`; unset = the port after the worker's (9465, 9467, 9469); empty = off",
    ),
  ANOMALY_INTERVAL_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(3600)
    .optional()
    .describe(
      "Seconds between the anomaly detector's windows; 0 = the global worker does not start it. Unset = 60, or 0 when TASK_QUEUE_PREFIX is set (test runs must not leave schedules behind)",
    ),
  ANOMALY_WEBHOOK_URL: optionalUrl(
    'Webhook each anomaly alert is POSTed to (JSON, signed like status callbacks with ANOMALY_WEBHOOK_SECRET)',
  ),
  ANOMALY_WEBHOOK_SECRET: optionalString()
    .pipe(z.string().min(32).optional())
    .describe(
      "The operators' own secret for anomaly webhooks (never a tenant's); required with ANOMALY_WEBHOOK_URL",
    ),
  ANOMALY_WEBHOOK_ALLOW_CIDRS: cidrList().describe(
    'Addresses the anomaly webhook alone may reach despite the denied ranges (e.g. an internal alert receiver)',
  ),
};

const retention = {
  RETENTION_OTP_SECONDS: seconds(86_400).describe(
    "Default retention of a finished OTP message's personal data; tenants may override",
  ),
  RETENTION_TRANSACTIONAL_SECONDS: seconds(30 * 86_400).describe(
    "Default retention of a finished transactional message's personal data; tenants may override",
  ),
  RETENTION_MARKETING_SECONDS: seconds(90 * 86_400).describe(
    "Default retention of a finished marketing message's personal data; tenants may override",
  ),
  PURGE_SWEEP_INTERVAL_SECONDS: seconds(60).describe(
    "How often each region's purge sweeper looks for due messages (when the last batch was not full)",
  ),
  PURGE_STUCK_AFTER_SECONDS: seconds(7 * 86_400).describe(
    'Purge backstop: how long past its dispatch deadline (validity end) a message may still run (receipt waits, failover) before it counts as stuck; its data is due this long plus its retention after the deadline even if it never finishes',
  ),
  PURGE_BATCH_SIZE: int(200, 1, 5000).describe(
    'Messages one purge activity claims and purges in one transaction',
  ),
  ERASURE_INTAKE_POLL_SECONDS: int(2, 1, 3600).describe(
    'How often an erasure checks whether the messages it waits for (still in intake) have moved on',
  ),
  ERASURE_CANCEL_WAIT_SECONDS: int(30, 0, 3600).describe(
    "How long an erasure waits for the subject's in-flight messages to finish cancelling before it purges them anyway",
  ),
  OPT_OUT_KEYWORDS: commaList(
    z.string().max(32),
    'STOP,STOPALL,UNSUBSCRIBE,CANCEL,END,QUIT,OPTOUT,退订,TD',
    1,
  ).describe(
    'Mobile-originated texts that opt the sender out (whole text or first word, case-insensitive), comma-separated',
  ),
  OPT_OUT_OTP_EXEMPT: flag('true').describe(
    'Default tenant policy: one-time codes still reach a subscriber who opted out',
  ),
};

/** The settings by area, in the order documentation lists them. */
export const SETTING_AREAS = {
  general,
  api,
  temporal,
  vault,
  database,
  carriers,
  retention,
  operations,
  regions,
  localStack,
} as const;
export type SettingArea = keyof typeof SETTING_AREAS;

/** All settings as one schema: what `loadConfig` parses the environment with. */
export const settingsSchema = z.object({
  ...general,
  ...api,
  ...temporal,
  ...vault,
  ...database,
  ...carriers,
  ...retention,
  ...operations,
  ...regions,
  ...localStack,
});

/** The parsed settings, one typed value per environment variable. */
export type Settings = z.infer<typeof settingsSchema>;
