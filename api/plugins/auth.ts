import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Pool } from 'pg';
import { HttpProblem } from './problem';

export const ROLES = ['sender', 'reviewer', 'operator', 'dpo', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: resolved from the API key on every request that names roles. */
export interface Principal {
  keyId: string;
  tenant: string;
  roles: readonly Role[];
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Roles allowed on this route; a route without `roles` is public (health, docs, signed webhooks). */
    roles?: readonly Role[];
  }
}

/** SHA-256 of an API key secret: what the database stores and looks up. */
export const hashApiKey = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** The principal of a request; throws 401 if the route forgot to declare roles (a programming error shows up in tests). */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new HttpProblem(401, 'Unauthenticated');
  return req.principal;
}

/**
 * API-key authentication and role checks. Routes declare `config: { roles: [...] }`; the key comes as
 * `Authorization: Bearer <key>`. Unknown, revoked or expired keys get 401; a key without the role 403.
 */
export const authPlugin = fp(async (app: FastifyInstance, opts: { db: Pool }) => {
  app.addHook('onRequest', async (req) => {
    const roles = req.routeOptions.config?.roles;
    if (!roles) return;
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match)
      throw new HttpProblem(
        401,
        'Unauthenticated',
        'send an API key as "Authorization: Bearer <key>"',
      );
    const { rows } = await opts.db.query<{ id: string; tenant: string; roles: Role[] }>(
      `select id, tenant, roles from api_keys
        where key_hash = $1 and revoked_at is null and (expires_at is null or expires_at > now())`,
      [hashApiKey(match[1]!)],
    );
    const key = rows[0];
    if (!key) throw new HttpProblem(401, 'Unauthenticated', 'unknown, revoked or expired API key');
    if (!key.roles.some((r) => roles.includes(r))) {
      throw new HttpProblem(
        403,
        'Forbidden',
        `this route needs one of the roles: ${roles.join(', ')}`,
      );
    }
    req.principal = { keyId: key.id, tenant: key.tenant, roles: key.roles };
  });
});
