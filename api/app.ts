import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { VaultClient } from '../clients/vault';
import type { Config } from '../config/config';
import { problemPlugin } from './plugins/problem';
import { healthRoutes } from './routes/health';

/** What the API needs from the outside world; the process (server.ts) or a test builds these. */
export interface AppDeps {
  config: Config;
  log: Logger;
  temporal: Client;
  db: Pool;
  vault: VaultClient;
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

  await app.register(async (scope) => healthRoutes(scope, deps));
  return app;
}
