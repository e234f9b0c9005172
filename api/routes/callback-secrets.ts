import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { CallbackSecrets } from '../../encryption/callback-secrets';
import type { VaultClient } from '../../clients/vault';
import type { Config } from '../../config/config';
import { appendAudit } from '../../db/audit';
import { hasCallbackSecret } from '../../db/callback-secrets';
import type { ConfigCache } from '../../db/config-cache';
import { createAllowlist, urlVerdict } from '../../domain/outbound';
import { HttpProblem } from '../plugins/problem';
import { principalOf } from '../plugins/auth';

export interface CallbackSecretRouteDeps {
  config: Config;
  db: Pool;
  vault: VaultClient;
}

/** Default overlap: a day for the tenant's endpoints to learn the new secret. */
const DEFAULT_OVERLAP_SECONDS = 86_400;

const problem = { $ref: 'Problem#' } as const;

/**
 * `POST /v1/callback-secrets` (admin, own tenant): rotates the tenant's callback signing secret. The
 * new secret is in the answer once and nowhere else in clear; the previous ones keep signing (every
 * callback carries `v1=<new>,v1=<old>`) until `overlapSeconds` has passed (0 retires them at once,
 * e.g. after a leak). The first call creates the tenant's first secret; callbacks need one.
 */
export async function callbackSecretRoutes(
  app: FastifyInstance,
  { db, vault }: CallbackSecretRouteDeps,
) {
  const secrets = new CallbackSecrets({ db, vault });
  app.post<{ Body: { overlapSeconds?: number } }>(
    '/v1/callback-secrets',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['callbacks'],
        summary: 'Rotate the callback signing secret',
        description:
          'Creates a new secret that signs status callbacks from now on; shown once. The previous secrets keep signing too until their overlap ends.',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            overlapSeconds: {
              type: 'integer',
              minimum: 0,
              maximum: 30 * 86_400,
              description: `How long the previous secret keeps signing (default ${DEFAULT_OVERLAP_SECONDS})`,
            },
          },
        },
        response: {
          201: {
            type: 'object',
            additionalProperties: false,
            required: ['id', 'secret', 'createdAt', 'previous'],
            properties: {
              id: { type: 'string' },
              secret: { type: 'string', description: 'Shown once: store it now' },
              createdAt: { type: 'string', format: 'date-time' },
              previous: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['id', 'retiresAt'],
                  properties: {
                    id: { type: 'string' },
                    retiresAt: { type: 'string', format: 'date-time' },
                  },
                },
              },
            },
          },
          400: problem,
          401: problem,
          403: problem,
        },
      },
    },
    async (req, reply) => {
      const { tenant, keyId } = principalOf(req);
      const overlapSeconds = req.body.overlapSeconds ?? DEFAULT_OVERLAP_SECONDS;
      const rotated = await secrets.rotate(tenant, overlapSeconds);
      // This process's cache learns at once; the others when PostgreSQL notifies them.
      app.configCache.invalidate();
      await appendAudit(db, {
        actor: keyId,
        tenant,
        action: 'callback_secret.rotated',
        subject: rotated.id,
        detail: { overlapSeconds, previous: rotated.previous.map((p) => p.id) },
      });
      reply.header('cache-control', 'no-store');
      return reply.status(201).send({
        id: rotated.id,
        secret: rotated.secret,
        createdAt: rotated.createdAt.toISOString(),
        previous: rotated.previous.map((p) => ({ id: p.id, retiresAt: p.retiresAt.toISOString() })),
      });
    },
  );
}

/**
 * The accept-time check of a message's `callbackUrl` (POST /v1/messages): 400 for a URL no callback
 * could ever reach (refused scheme, credentials, an IP literal or `localhost` in a denied range;
 * domain/outbound.ts), 422 when the tenant has no signing secret yet. A host name passes here; the
 * worker's guarded client checks what it resolves to when it connects.
 */
export function callbackUrlCheck({ config, db }: { config: Config; db: Pool }) {
  const policy = {
    httpsOnly: config.outbound.httpsOnly,
    allow: createAllowlist(config.outbound.allowCidrs),
  };
  return async (url: string, tenant: string, cache: ConfigCache): Promise<void> => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new HttpProblem(400, 'Callback URL not allowed', '`callbackUrl` is not a URL', [
        'callbackUrl',
      ]);
    }
    const refusal = urlVerdict(parsed, policy);
    if (refusal)
      throw new HttpProblem(400, 'Callback URL not allowed', refusal.detail, ['callbackUrl']);
    // Cached only once true: a tenant never goes back to having no current secret.
    const hasSecret = await cache.read(
      `callback-secret:${tenant}`,
      () => hasCallbackSecret(db, tenant),
      (has) => (has ? Infinity : 0),
    );
    if (!hasSecret)
      throw new HttpProblem(
        422,
        'No callback signing secret',
        'create one with POST /v1/callback-secrets (admin) before sending with a callbackUrl',
        ['callbackUrl'],
      );
  };
}
