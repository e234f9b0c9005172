import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Pool } from 'pg';
import { appendAudit } from '../../db/audit';
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
    /**
     * Also accept a browser session cookie: `true` for the codec server's {@link SESSION_COOKIE}
     * (the Temporal UI's codec fetch), or the name of another session cookie (the reviewer page's).
     */
    cookieAuth?: boolean | string;
  }
  interface FastifyInstance {
    /** Browser sessions opened with an API key (by `authPlugin`). */
    sessions: SessionStore;
  }
}

/** SHA-256 of an API key secret: what the database stores and looks up. */
export const hashApiKey = (secret: string) => createHash('sha256').update(secret).digest('hex');

interface KeyRow {
  id: string;
  tenant: string;
  roles: Role[];
}

const LIVE_KEY = 'revoked_at is null and (expires_at is null or expires_at > now())';

/** The live (not revoked, not expired) API key with this secret. */
export async function findApiKey(db: Pool, secret: string): Promise<KeyRow | undefined> {
  const { rows } = await db.query<KeyRow>(
    `select id, tenant, roles from api_keys where key_hash = $1 and ${LIVE_KEY}`,
    [hashApiKey(secret)],
  );
  return rows[0];
}

/** The cookie holding a codec-server session id; its path is `/codec`, so only routes there see it. */
export const SESSION_COOKIE = 'codec_session';
export const SESSION_TTL_MS = 8 * 3_600_000;

/**
 * Browser sessions: an opaque random id (the cookie value) that maps to the API key it was opened
 * with. The key itself never reaches the browser, and it is checked again on every request, so
 * revoking it ends its sessions. Kept in memory (stored by hash): a restart signs everyone out.
 */
export class SessionStore {
  private readonly sessions = new Map<string, { keyId: string; expiresAt: number }>();

  constructor(
    readonly ttlMs = SESSION_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Opens a session for an API key; returns the id to put in the cookie. */
  open(keyId: string): { id: string; expiresAt: number } {
    const t = this.now();
    for (const [k, v] of this.sessions) if (v.expiresAt <= t) this.sessions.delete(k);
    const id = randomBytes(32).toString('base64url');
    const expiresAt = t + this.ttlMs;
    this.sessions.set(hashApiKey(id), { keyId, expiresAt });
    return { id, expiresAt };
  }

  /** The API key id of a live session. */
  keyIdOf(id: string): string | undefined {
    const s = this.sessions.get(hashApiKey(id));
    if (s && s.expiresAt > this.now()) return s.keyId;
    this.close(id);
    return undefined;
  }

  close(id: string): void {
    this.sessions.delete(hashApiKey(id));
  }
}

/** One cookie's value from a `Cookie` header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

/** The principal of a request; throws 401 if the route forgot to declare roles (a programming error shows up in tests). */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new HttpProblem(401, 'Unauthenticated');
  return req.principal;
}

/**
 * API-key authentication and role checks. Routes declare `config: { roles: [...] }`; the key comes as
 * `Authorization: Bearer <key>`, or, on routes that also declare `cookieAuth: true`, as the session
 * cookie opened with a key (`app.sessions`). Unknown, revoked or expired keys and sessions get 401;
 * a key without the role 403.
 */
export const authPlugin = fp(async (app: FastifyInstance, opts: { db: Pool }) => {
  app.decorate('sessions', new SessionStore());
  app.addHook('onRequest', async (req) => {
    const roles = req.routeOptions.config?.roles;
    if (!roles) return;
    const header = req.headers.authorization;
    const cookieAuth = req.routeOptions.config.cookieAuth;
    const cookieName = cookieAuth === true ? SESSION_COOKIE : cookieAuth || undefined;
    const session =
      header === undefined && cookieName ? cookieValue(req.headers.cookie, cookieName) : undefined;
    let key: KeyRow | undefined;
    if (session !== undefined) {
      const keyId = app.sessions.keyIdOf(session);
      if (keyId) {
        const { rows } = await opts.db.query<KeyRow>(
          `select id, tenant, roles from api_keys where id = $1 and ${LIVE_KEY}`,
          [keyId],
        );
        key = rows[0];
      }
      if (!key) {
        app.sessions.close(session);
        throw new HttpProblem(401, 'Unauthenticated', 'the session expired: sign in again');
      }
    } else {
      const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
      if (!match)
        throw new HttpProblem(
          401,
          'Unauthenticated',
          `send an API key as "Authorization: Bearer <key>"${req.routeOptions.config.cookieAuth ? ', or sign in' : ''}`,
        );
      key = await findApiKey(opts.db, match[1]!);
      if (!key)
        throw new HttpProblem(401, 'Unauthenticated', 'unknown, revoked or expired API key');
    }
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

/** Where a browser session lives: its cookie, the path that cookie is sent to, and who may open it. */
export interface BrowserSession {
  cookie: string;
  path: string;
  sameSite: 'Lax' | 'Strict';
  /** The role the API key must have. */
  role: Role;
  /** What the role is for, in refusals: `the codec server`, `the reviewer page`. */
  what: string;
  /** Audit action of a sign-in, e.g. `codec.login`. */
  auditAction: string;
}

/** The `Set-Cookie` value of a session cookie: HttpOnly, scoped to its path, Secure over HTTPS. */
export function sessionCookie(
  req: FastifyRequest,
  s: BrowserSession,
  value: string,
  maxAgeSeconds: number,
): string {
  return [
    `${s.cookie}=${value}`,
    `Path=${s.path}`,
    `Max-Age=${maxAgeSeconds}`,
    'HttpOnly',
    `SameSite=${s.sameSite}`,
    ...(req.protocol === 'https' ? ['Secure'] : []),
  ].join('; ');
}

/**
 * Exchanges an API key for a browser session (sign-in routes): checks the key and its role, opens a
 * session in `app.sessions`, audits the sign-in and sets the HttpOnly cookie. The key never reaches
 * the browser's storage. Throws 401 for an unknown key, 403 without the role.
 */
export async function openBrowserSession(
  app: FastifyInstance,
  db: Pool,
  req: FastifyRequest,
  reply: FastifyReply,
  apiKey: string,
  s: BrowserSession,
): Promise<{ expiresAt: string }> {
  const key = await findApiKey(db, apiKey);
  if (!key) throw new HttpProblem(401, 'Unauthenticated', 'unknown, revoked or expired API key');
  if (!key.roles.includes(s.role))
    throw new HttpProblem(403, 'Forbidden', `${s.what} needs the ${s.role} role`);
  const session = app.sessions.open(key.id);
  await appendAudit(db, {
    actor: `${s.role}:${key.id}`,
    tenant: key.tenant,
    action: s.auditAction,
    subject: null,
  });
  reply
    .header('set-cookie', sessionCookie(req, s, session.id, app.sessions.ttlMs / 1000))
    .header('cache-control', 'no-store');
  return { expiresAt: new Date(session.expiresAt).toISOString() };
}

/** Ends the request's browser session (sign-out routes) and clears its cookie. */
export function closeBrowserSession(
  app: FastifyInstance,
  req: FastifyRequest,
  reply: FastifyReply,
  s: BrowserSession,
): void {
  const session = cookieValue(req.headers.cookie, s.cookie);
  if (session) app.sessions.close(session);
  reply.header('set-cookie', sessionCookie(req, s, '', 0));
}
