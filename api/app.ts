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
import { problemPlugin } from './plugins/problem';
import { createReceiptRouter } from '../clients/receipt-router';
import { carrierReceiptRoutes } from './routes/carrier-receipts';
import { codecRoutes } from './routes/codec';
import { healthRoutes } from './routes/health';
import { poolRoutes } from './routes/pools';
import { messageRoutes } from './routes/messages';
import { createApiMetrics, metricsRoutes } from './routes/metrics';
import type { Metrics } from '../clients/metrics';
import { privacyRoutes } from './routes/privacy';

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

/**
 * Builds the HTTP API as a Fastify instance: infrastructure plugins first (errors, OpenAPI), then routes.
 * It does not listen; `server.ts` does, and tests use `app.inject()` or listen on port 0.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: 64 * 1024,
    requestIdHeader: 'x-request-id',
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } },
  });

  await app.register(problemPlugin);
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'SMS pipeline API',
        version: '0.1.0',
        description: 'Privacy-first SMS aggregation on Temporal',
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(authPlugin, { db: deps.db });
  const metrics = deps.metrics ?? createApiMetrics(deps.db);
  await metricsRoutes(app, { metrics, db: deps.db });

  await app.register(async (scope) => healthRoutes(scope, deps));
  await app.register(async (scope) => poolRoutes(scope, deps));
  await app.register(async (scope) => messageRoutes(scope, { ...deps, metrics }));
  await app.register(async (scope) => codecRoutes(scope, deps));
  await app.register(async (scope) => privacyRoutes(scope, deps));
  const routeReceipt = createReceiptRouter({ db: deps.db, temporal: deps.temporal, log: deps.log });
  await app.register(async (scope) =>
    carrierReceiptRoutes(scope, { config: deps.config, routeReceipt }),
  );
  return app;
}
