import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { createDbPool } from '../clients/db';
import { vaultClientFor } from '../clients/vault';
import type { Config } from '../config/config';
import { ConfigCache } from '../db/config-cache';
import { VaultPayloadCodec } from '../encryption/codec';
import { authPlugin } from '../api/plugins/auth';
import { limitsPlugin } from '../api/plugins/limits';
import { clientErrorHandler, frameworkErrors, problemPlugin } from '../api/plugins/problem';
import { httpsOptions } from '../api/tls';
import { codecRoutes } from './routes';

/** What the codec server needs from the outside world; its process or a test builds these. */
export interface CodecServerDeps {
  config: Config;
  log: Logger;
  db: Pool;
  /** The payload codec under the `codec-server` Vault identity (see {@link createCodecServer}). */
  codec: VaultPayloadCodec;
}

/**
 * The codec server for the Temporal UI and CLI as a Fastify instance of its own, apart from the API:
 * the API's error, authentication (operator keys, the `/codec` session cookie, client certificates)
 * and limits plugins, then the codec routes (codec-server/routes.ts) and a liveness route. HTTPS with
 * the API's TLS settings when they are set. It does not listen; processes/codec-server.ts does.
 */
export async function buildCodecServer(deps: CodecServerDeps): Promise<FastifyInstance> {
  const { config, log, db } = deps;
  const https = config.api.tls ? httpsOptions(config.api.tls) : undefined;
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    ...(https ? { https } : {}),
    bodyLimit: config.api.bodyLimit,
    ...(config.api.trustProxy === undefined ? {} : { trustProxy: config.api.trustProxy }),
    requestIdHeader: 'x-request-id',
    clientErrorHandler,
    frameworkErrors,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } },
  }) as unknown as FastifyInstance;

  // Operator keys between requests, forgotten when PostgreSQL says `api_keys` changed.
  const cache = new ConfigCache({ connection: db.options, log }).start();
  app.addHook('onClose', async () => cache.close());
  await app.register(problemPlugin);
  await app.register(authPlugin, { db, cache, failures: config.api.authFailures });
  await app.register(limitsPlugin, { ...config.api.rateLimit });

  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: { response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } },
    },
    async () => ({ status: 'ok' }),
  );
  await app.register(async (scope) => codecRoutes(scope, deps));
  return app;
}

/**
 * The codec server as its process runs it: its own database pool and its own Vault client under the
 * `codec-server` identity only (decrypt on the codec keys, data keys of the codec key to encode; no
 * `sms-*` key), so no other process needs that identity. `close` shuts the app and its clients down.
 */
export async function createCodecServer(
  config: Config,
  log: Logger,
): Promise<{ app: FastifyInstance; close: () => Promise<void> }> {
  const db = createDbPool(config.database, 'sms-codec-server', log);
  const vault = vaultClientFor(config, 'codec-server', { log });
  const codec = new VaultPayloadCodec({
    vault,
    transitKey: config.codec.transitKey,
    rotateAfterMs: config.codec.rotateAfterMs,
  });
  const app = await buildCodecServer({ config, log, db, codec });
  const close = async () => {
    await app.close();
    await vault.close();
    await db.end();
  };
  return { app, close };
}
