import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { createDbPool } from '../clients/db';
import { vaultObserver } from '../clients/metrics';
import {
  createDataConverter,
  createRegionalConverters,
  createTemporalClient,
  RegionalClients,
} from '../clients/temporal';
import { DerivedKeys } from '../encryption/derived-keys';
import { MessageCipher } from '../encryption/message-cipher';
import { RequestFingerprints } from '../encryption/request-fingerprint';
import { SubscriberTokens } from '../encryption/subscriber-token';
import { vaultClientFor, type VaultClient } from '../clients/vault';
import type { Config } from '../config/config';
import { authPlugin } from './plugins/auth';
import { OPENAPI_PATH, swaggerOptions } from './openapi';
import { limitsPlugin } from './plugins/limits';
import { clientErrorHandler, frameworkErrors, problemPlugin } from './plugins/problem';
import { serverTimingPlugin } from './plugins/server-timing';
import { httpsOptions } from './tls';
import { createReceiptRouter } from '../inbound/receipt-router';
import { carrierReceiptRoutes } from './routes/carrier-receipts';
import { callbackSecretRoutes } from './routes/callback-secrets';
import { healthRoutes } from './routes/health';
import { poolRoutes } from './routes/pools';
import { messageRoutes } from './routes/messages';
import {
  configCacheMetrics,
  createApiMetrics,
  listenMetrics,
  metricsRoutes,
} from './routes/metrics';
import type { Metrics } from '../clients/metrics';
import { privacyRoutes } from './routes/privacy';
import { policyRoutes } from './routes/policy';
import { reviewRoutes } from './routes/review';
import { StartRelay } from '../relay/start-relay';
import { ConfigCache } from '../db/config-cache';

/** What the API needs from the outside world; the process (server.ts) or a test builds these. */
export interface AppDeps {
  config: Config;
  log: Logger;
  temporal: Client;
  db: Pool;
  vault: VaultClient;
  /** The API's metrics (`createApiMetrics`); created here when not given. */
  metrics?: Metrics;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Starts the workflows of accepted messages (relay/start-relay.ts); tests wait on `drain()`. */
    startRelay: StartRelay;
    /** API keys, rules, prices, caps and review policies between requests (db/config-cache.ts). */
    configCache: ConfigCache;
  }
}

/** The OpenAPI UI's routes: public as a whole (they describe the API, they hold no data). */
const DOCS_PREFIX = '/docs';

/**
 * Builds the HTTP API as a Fastify instance: infrastructure plugins first (errors, authentication,
 * limits, OpenAPI), then routes. HTTPS (and mutual TLS) when `config.api.tls` is set.
 * It does not listen; `server.ts` does, and tests use `app.inject()` or listen on port 0. Its
 * metrics (`app.metrics`) are served on a listener of their own ({@link listenMetrics}).
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const https = deps.config.api.tls ? httpsOptions(deps.config.api.tls) : undefined;
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    ...(https ? { https } : {}),
    bodyLimit: deps.config.api.bodyLimit,
    // Behind a TLS-terminating proxy: the client's address and protocol from the trusted hops only.
    ...(deps.config.api.trustProxy === undefined ? {} : { trustProxy: deps.config.api.trustProxy }),
    requestIdHeader: 'x-request-id',
    // Refusals before a route is found (Node's header limits, undecodable URLs) as problem+json too.
    clientErrorHandler,
    frameworkErrors,
    // Unknown fields are refused (400), never silently dropped; no type coercion.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } },
  }) as unknown as FastifyInstance;

  // The configuration rows requests read, kept while PostgreSQL can tell this process they changed.
  const configCache = new ConfigCache({ connection: deps.db.options, log: deps.log }).start();
  app.decorate('configCache', configCache);
  app.addHook('onClose', async () => configCache.close());

  await app.register(serverTimingPlugin);
  await app.register(problemPlugin);
  await app.register(authPlugin, {
    db: deps.db,
    cache: configCache,
    publicPrefixes: [DOCS_PREFIX],
    failures: deps.config.api.authFailures,
  });
  await app.register(limitsPlugin, {
    ...deps.config.api.rateLimit,
    exemptPrefixes: [DOCS_PREFIX],
  });
  await app.register(swagger, swaggerOptions);
  await app.register(swaggerUi, {
    routePrefix: DOCS_PREFIX,
    // The Authorize dialog's key stays for the tab's life only (never in localStorage).
    uiConfig: { persistAuthorization: false },
  });
  // The spec itself, for generators and the CI validator (scripts/check-openapi.ts).
  app.get(OPENAPI_PATH, { config: { public: true }, schema: { hide: true } }, async () =>
    app.swagger(),
  );
  const metrics = deps.metrics ?? createApiMetrics(deps.db, deps.config.temporal.taskQueuePrefix);
  configCacheMetrics(metrics.registry, configCache);
  await metricsRoutes(app, { metrics, db: deps.db });
  // Starts the workflows of accepted messages; its last round finishes before the app closes.
  const startRelay = new StartRelay({
    db: deps.db,
    temporal: deps.temporal,
    log: deps.log,
    pollMs: deps.config.api.startRelayPollMs,
    leaseMs: deps.config.api.startRelayLeaseMs,
    maxBacklog: deps.config.api.startRelayMaxBacklog,
  }).start();
  app.decorate('startRelay', startRelay);
  app.addHook('onClose', async () => startRelay.close());

  // Message workflows are started, signalled and cancelled through their region's client: their
  // payloads are sealed under the region's codec key, which the API may encode under but not decrypt.
  const regions = new RegionalClients(
    deps.temporal.connection,
    deps.config.temporal.namespace,
    createRegionalConverters(deps.config, deps.vault),
  );

  // The fingerprint key is derived from Vault once, here, so no accept waits for Vault.
  const fingerprints = new RequestFingerprints(new DerivedKeys(deps.vault));
  // Tenants' subscriber-token keys, derived once per process and tenant (encryption/subscriber-token.ts).
  const tokens = new SubscriberTokens({ vault: deps.vault, db: deps.db });
  app.addHook('onReady', async () => {
    await fingerprints.warm().catch((err: Error) => {
      deps.log.warn(
        { error: err.name },
        'request fingerprint key not derived yet; first accept retries',
      );
    });
  });

  await app.register(async (scope) => healthRoutes(scope, deps));
  await app.register(async (scope) => poolRoutes(scope, deps));
  await app.register(async (scope) =>
    messageRoutes(scope, {
      ...deps,
      regions,
      metrics,
      startRelay,
      configCache,
      fingerprints,
      tokens,
      // Seals what the API accepts under the region's key; it can never open it (docs/privacy.md, "Region keys").
      cipher: new MessageCipher({ vault: deps.vault, ...deps.config.messageSecrets }),
    }),
  );
  await app.register(async (scope) => policyRoutes(scope, deps));
  await app.register(async (scope) => callbackSecretRoutes(scope, deps));
  await app.register(async (scope) => privacyRoutes(scope, { ...deps, regions, tokens }));
  await app.register(async (scope) => reviewRoutes(scope, { ...deps, regions }));
  const routeReceipt = createReceiptRouter({ db: deps.db, temporal: regions, log: deps.log });
  await app.register(async (scope) =>
    carrierReceiptRoutes(scope, { config: deps.config, db: deps.db, routeReceipt }),
  );
  return app;
}

/**
 * The API as a process runs it (processes/api.ts, and the bench's API process): reads nothing but
 * `config`, wires the clients (the Temporal client's codec under the API's identity; the Temporal UI's
 * codec server is a process of its own, processes/codec-server.ts, and this one never holds its identity), builds the app and starts its `/metrics` listener (`listenMetrics`); `close` shuts the app and its clients down. `vault` is its Vault client (the
 * bench counts its requests).
 */
export async function createApi(
  config: Config,
  log: Logger,
): Promise<{ app: FastifyInstance; vault: VaultClient; close: () => Promise<void> }> {
  const db = createDbPool(config.database, 'sms-api', log);
  const metrics = createApiMetrics(db, config.temporal.taskQueuePrefix);
  const vault = vaultClientFor(config, 'api', { log, observe: vaultObserver(metrics) });
  const { dataConverter } = createDataConverter(config, vault);
  const temporal = await createTemporalClient(config, vault, dataConverter);
  const app = await buildApp({ config, log, temporal, db, vault, metrics });
  await listenMetrics(app, { host: config.metrics.host, port: config.metrics.apiPort }, log);
  const close = async () => {
    await app.close();
    await temporal.connection.close();
    await vault.close();
    await db.end();
  };
  return { app, vault, close };
}
