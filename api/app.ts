import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { VaultPayloadCodec } from '../clients/codec';
import type { VaultClient } from '../clients/vault';
import type { Config } from '../config/config';
import { authPlugin } from './plugins/auth';
import { limitsPlugin } from './plugins/limits';
import { problemPlugin } from './plugins/problem';
import { serverTimingPlugin } from './plugins/server-timing';
import { httpsOptions } from './tls';
import { createReceiptRouter } from '../clients/receipt-router';
import { carrierReceiptRoutes } from './routes/carrier-receipts';
import { codecRoutes } from './routes/codec';
import { healthRoutes } from './routes/health';
import { poolRoutes } from './routes/pools';
import { messageRoutes } from './routes/messages';
import { createApiMetrics, metricsRoutes } from './routes/metrics';
import type { Metrics } from '../clients/metrics';
import { privacyRoutes } from './routes/privacy';
import { sendingPolicyRoutes } from './routes/sending-policy';
import { reviewRoutes } from './routes/review';
import { StartRelay } from './start-relay';

/** What the API needs from the outside world; the process (server.ts) or a test builds these. */
export interface AppDeps {
  config: Config;
  log: Logger;
  temporal: Client;
  db: Pool;
  vault: VaultClient;
  /** The payload codec of this process's Temporal client; the codec server decodes with it. */
  codec: VaultPayloadCodec;
  /** The API's metrics (`createApiMetrics`); created here when not given. */
  metrics?: Metrics;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Starts the workflows of accepted messages (api/start-relay.ts); tests wait on `drain()`. */
    startRelay: StartRelay;
  }
}

/** The OpenAPI UI's routes: public as a whole (they describe the API, they hold no data). */
const DOCS_PREFIX = '/docs';

/**
 * Builds the HTTP API as a Fastify instance: infrastructure plugins first (errors, authentication,
 * limits, OpenAPI), then routes. HTTPS (and mutual TLS) when `config.api.tls` is set.
 * It does not listen; `server.ts` does, and tests use `app.inject()` or listen on port 0.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const https = deps.config.api.tls ? httpsOptions(deps.config.api.tls) : undefined;
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    ...(https ? { https } : {}),
    bodyLimit: deps.config.api.bodyLimit,
    requestIdHeader: 'x-request-id',
    // Unknown fields are refused (400), never silently dropped; no type coercion.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } },
  }) as unknown as FastifyInstance;

  await app.register(serverTimingPlugin);
  await app.register(problemPlugin);
  await app.register(authPlugin, { db: deps.db, publicPrefixes: [DOCS_PREFIX] });
  await app.register(limitsPlugin, {
    ...deps.config.api.rateLimit,
    exemptPrefixes: [DOCS_PREFIX],
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'SMS pipeline API',
        version: '0.1.0',
        description: 'Privacy-first SMS aggregation on Temporal',
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX });
  const metrics = deps.metrics ?? createApiMetrics(deps.db);
  await metricsRoutes(app, { metrics, db: deps.db });
  // Starts the workflows of accepted messages; its last round finishes before the app closes.
  const startRelay = new StartRelay({
    db: deps.db,
    temporal: deps.temporal,
    log: deps.log,
    pollMs: deps.config.api.startRelayPollMs,
    maxBacklog: deps.config.api.startRelayMaxBacklog,
  }).start();
  app.decorate('startRelay', startRelay);
  app.addHook('onClose', async () => startRelay.close());

  await app.register(async (scope) => healthRoutes(scope, deps));
  await app.register(async (scope) => poolRoutes(scope, deps));
  await app.register(async (scope) => messageRoutes(scope, { ...deps, metrics, startRelay }));
  await app.register(async (scope) => sendingPolicyRoutes(scope, deps));
  await app.register(async (scope) => codecRoutes(scope, deps));
  await app.register(async (scope) => privacyRoutes(scope, deps));
  await app.register(async (scope) => reviewRoutes(scope, deps));
  const routeReceipt = createReceiptRouter({ db: deps.db, temporal: deps.temporal, log: deps.log });
  await app.register(async (scope) =>
    carrierReceiptRoutes(scope, { config: deps.config, db: deps.db, routeReceipt }),
  );
  return app;
}
