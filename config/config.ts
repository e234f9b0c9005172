import { availableParallelism } from 'node:os';
import { ConfigError, parseEnv } from './env';
import { productionIssues, unpairedSettings } from './setting-checks';
import { settingsSchema, type Settings } from './settings';
import { explicitVaultAuth, stackIdentities } from './vault-auth';

export type { CarrierConfig } from './carriers';
export { missingVaultAuth, vaultAuthFor, type VaultAuth } from './vault-auth';

export type Config = ReturnType<typeof loadConfig>;

/**
 * The process configuration: read from the environment once, validated, frozen.
 * Defaults match the local stack (`npm run stack:up`). A bad value throws a ConfigError naming the variable.
 * Nothing else in the code base reads `process.env`. The settings themselves (names, defaults,
 * descriptions) are in config/settings.ts.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const e = parseEnv(settingsSchema, env);
  const issues = unpairedSettings(e);
  if (e.NODE_ENV === 'production') issues.push(...productionIssues(e, env));
  if (issues.length) throw new ConfigError(issues);
  return Object.freeze({
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    api: apiConfig(e),
    temporal: temporalConfig(e),
    codec: codecConfig(e),
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
    vault: vaultConfig(e),
    retention: retentionConfig(e),
    optOut: Object.freeze({
      keywords: Object.freeze(e.OPT_OUT_KEYWORDS),
      otpExempt: e.OPT_OUT_OTP_EXEMPT,
    }),
    database: Object.freeze({
      url: e.DATABASE_URL ?? `postgres://sms:sms@${e.STACK_HOST}:${e.STACK_POSTGRES_PORT}/sms`,
      poolSize: e.DATABASE_POOL_SIZE,
    }),
    worker: workerConfig(e),
    metrics: Object.freeze({
      host: e.METRICS_HOST,
      /** Unset: the region's default (workers/metrics-ports.ts). */
      workerPort: e.WORKER_METRICS_PORT,
      apiPort: e.API_METRICS_PORT,
      /** Unset: the region's default; '' = the SDK exporter is off. */
      sdkAddress: e.TEMPORAL_SDK_METRICS_ADDRESS,
    }),
    anomaly: anomalyConfig(e),
    /** Per-region overrides of the Vault address and database URL (unset = the shared ones). */
    regions: Object.freeze({
      global: Object.freeze({ vaultAddr: e.VAULT_ADDR_GLOBAL, databaseUrl: e.DATABASE_URL_GLOBAL }),
      eu: Object.freeze({ vaultAddr: e.VAULT_ADDR_EU, databaseUrl: e.DATABASE_URL_EU }),
      cn: Object.freeze({ vaultAddr: e.VAULT_ADDR_CN, databaseUrl: e.DATABASE_URL_CN }),
    }),
  });
}

function apiConfig(e: Settings) {
  return Object.freeze({
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
    startRelayLeaseMs: e.WORKFLOW_START_LEASE_MS,
    startRelayMaxBacklog: e.WORKFLOW_START_MAX_BACKLOG,
  });
}

function temporalConfig(e: Settings) {
  return Object.freeze({
    address: e.TEMPORAL_ADDRESS ?? `${e.STACK_HOST}:${e.TEMPORAL_PORT}`,
    namespace: e.TEMPORAL_NAMESPACE,
    region: e.WORKER_REGION,
    taskQueuePrefix: e.TASK_QUEUE_PREFIX,
    /**
     * A Temporal Cloud API key: the key itself or the file holding it (read at connect time).
     * Undefined = none. The field is named `apiKey` so that the logger censors it (config/log-keys.ts).
     */
    apiKey: e.TEMPORAL_API_KEY_FILE
      ? Object.freeze({ file: e.TEMPORAL_API_KEY_FILE })
      : e.TEMPORAL_API_KEY
        ? Object.freeze({ value: e.TEMPORAL_API_KEY })
        : undefined,
    /** Undefined = plaintext gRPC (the local dev server). An API key implies TLS. */
    tls:
      e.TEMPORAL_TLS ||
      e.TEMPORAL_TLS_CA ||
      e.TEMPORAL_TLS_CERT ||
      e.TEMPORAL_API_KEY ||
      e.TEMPORAL_API_KEY_FILE
        ? Object.freeze({
            caPath: e.TEMPORAL_TLS_CA,
            certPath: e.TEMPORAL_TLS_CERT,
            keyPath: e.TEMPORAL_TLS_KEY,
            serverName: e.TEMPORAL_TLS_SERVER_NAME,
          })
        : undefined,
  });
}

function codecConfig(e: Settings) {
  return Object.freeze({
    transitKey: e.CODEC_TRANSIT_KEY,
    rotateAfterMs: e.CODEC_KEY_ROTATION_SECONDS * 1000,
    /** Where the codec server process listens (processes/codec-server.ts), never in the API process. */
    host: e.CODEC_HOST,
    port: e.CODEC_PORT,
    /** The codec server's base URL as operators reach it (its sign-in page names `<publicUrl>/codec`). */
    publicUrl: e.CODEC_PUBLIC_URL ?? `http://${e.CODEC_HOST}:${e.CODEC_PORT}`,
    /** Browser origins (the Temporal UI) the codec server answers CORS requests from. */
    // Default: the local stack's UI, by IP and by name.
    uiOrigins: Object.freeze(
      e.TEMPORAL_UI_ORIGIN ?? [
        `http://${e.STACK_HOST}:${e.TEMPORAL_UI_PORT}`,
        `http://localhost:${e.TEMPORAL_UI_PORT}`,
      ],
    ),
  });
}

function vaultConfig(e: Settings) {
  return Object.freeze({
    addr: (e.VAULT_ADDR ?? `http://${e.STACK_HOST}:${e.VAULT_PORT}`).replace(/\/+$/, ''),
    mount: e.VAULT_TRANSIT_MOUNT,
    timeoutMs: e.VAULT_TIMEOUT_MS,
    /** Credentials from the environment, for every identity of this process; else `identities` (see `vaultAuthFor`). */
    auth: explicitVaultAuth(e),
    /** The local stack's AppRole credentials per identity (VAULT_CREDENTIALS_DIR). */
    identities: Object.freeze(stackIdentities(e.VAULT_CREDENTIALS_DIR)),
  });
}

function retentionConfig(e: Settings) {
  return Object.freeze({
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
  });
}

/** Worker slots: unset, 5 workflow tasks per core and twice that many local activities (see settings.ts). */
function workerConfig(e: Settings) {
  const workflowTasks = e.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS ?? 5 * availableParallelism();
  return Object.freeze({
    maxConcurrentWorkflowTaskExecutions: workflowTasks,
    maxConcurrentActivityTaskExecutions: e.WORKER_MAX_CONCURRENT_ACTIVITIES ?? 100,
    maxConcurrentLocalActivityExecutions:
      e.WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES ?? 2 * workflowTasks,
  });
}

function anomalyConfig(e: Settings) {
  return Object.freeze({
    intervalSeconds: e.ANOMALY_INTERVAL_SECONDS ?? (e.TASK_QUEUE_PREFIX ? 0 : 60),
    webhook: e.ANOMALY_WEBHOOK_URL
      ? Object.freeze({
          url: e.ANOMALY_WEBHOOK_URL,
          secret: e.ANOMALY_WEBHOOK_SECRET!,
          allowCidrs: Object.freeze(e.ANOMALY_WEBHOOK_ALLOW_CIDRS),
        })
      : undefined,
  });
}
