import { randomBytes } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { Pool } from 'pg';
import {
  findApiKey,
  findApiKeyByCertificate,
  findApiKeyById,
  hashApiKey,
  type KeyRow,
  type Role,
} from '../../db/api-keys';
import { appendAudit } from '../../db/audit';
import type { ConfigCache } from '../../db/config-cache';
import { KeyUsageRecorder } from '../../db/key-usage';
import { AuthFailureLimiter, type AuthFailureLimits } from './auth-failures';
import { HttpProblem } from './problem';

export { findApiKey, hashApiKey, ROLES, type Role } from '../../db/api-keys';

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
    /** Roles allowed on this route. Every route declares `roles` or `public: true` (checked when it is added). */
    roles?: readonly Role[];
    /** A route anyone may call (health, the codec sign-in, signed webhooks): said explicitly, never by omission. */
    public?: boolean;
    /**
     * Also accept a browser session cookie: `true` for the codec server's {@link SESSION_COOKIE}
     * (the Temporal UI's codec fetch), or the name of another session cookie (the reviewer page's).
     */
    cookieAuth?: boolean | string;
  }
  interface FastifyInstance {
    /** Browser sessions opened with an API key (by `authPlugin`). */
    sessions: SessionStore;
    /** Per-key usage counters and the first-use audit (by `authPlugin`). */
    keyUsage: KeyUsageRecorder;
    /** Every route added after `authPlugin`, with what it declared (the authorization matrix test reads it). */
    declaredRoutes: DeclaredRoute[];
    /** Failed authentications per client address, refused with 429 over the limit (by `authPlugin`). */
    authFailures: AuthFailureLimiter;
  }
}

/** The cookie holding a browser session id; its path is `/codec`, so only routes there see it. */
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

/** The SHA-256 fingerprint (lower-case hex, no colons) of the verified client certificate, if any. */
export function clientCertificateFingerprint(req: FastifyRequest): string | undefined {
  const socket = req.raw.socket as Partial<TLSSocket>;
  if (!socket.encrypted || !socket.authorized || !socket.getPeerCertificate) return undefined;
  const cert = socket.getPeerCertificate();
  return cert?.fingerprint256 ? cert.fingerprint256.replace(/:/g, '').toLowerCase() : undefined;
}

/** A route as `authPlugin` saw it being added. */
export interface DeclaredRoute {
  method: string;
  url: string;
  roles?: readonly Role[];
  public: boolean;
}

export interface AuthOptions {
  db: Pool;
  /** Where key lookups are kept between requests (forgotten when `api_keys` or certificates change). */
  cache: ConfigCache;
  /** Route prefixes of third-party plugins that are public as a whole (the OpenAPI UI). */
  publicPrefixes?: readonly string[];
  /** How often key usage counters are written (default 5 s). */
  usageFlushMs?: number;
  /** Failed authentications allowed per address and window (config `api.authFailures`). */
  failures: AuthFailureLimits;
}

/** Refuses, when it is added, a route that declares neither roles nor `public: true`. */
function checkDeclared(route: RouteOptions, publicPrefixes: readonly string[]): DeclaredRoute[] {
  const config = route.config as { roles?: readonly Role[]; public?: boolean } | undefined;
  const declared = (roles: readonly Role[] | undefined) =>
    [route.method].flat().map((method) => ({ method, url: route.url, roles, public: !roles }));
  if (publicPrefixes.some((p) => route.url === p || route.url.startsWith(`${p}/`)))
    return declared(undefined);
  if (config?.public === true && config.roles === undefined) return declared(undefined);
  if (config?.roles?.length && config.public === undefined) return declared(config.roles);
  const method = Array.isArray(route.method) ? route.method.join(',') : route.method;
  throw new Error(
    `route ${method} ${route.url} must declare config.roles (non-empty) or config.public: true`,
  );
}

/**
 * API-key authentication and role checks. Routes declare `config: { roles: [...] }` (or `public:
 * true`); the key comes as `Authorization: Bearer <key>`, or, on routes that also declare
 * `cookieAuth: true`, as the session cookie opened with a key (`app.sessions`), or as a client
 * certificate (mutual TLS) registered for a key in `client_certificates`.
 *
 * The key is read through the process's configuration cache (db/config-cache.ts): PostgreSQL tells
 * every API process when `api_keys` or `client_certificates` change, so a revocation holds from the
 * next request in the process that made it and within milliseconds in the others; an expired key
 * leaves the cache when it expires; unknown keys are never kept. Sends check the key again in the
 * statement that admits them. Unknown, revoked or expired keys and sessions get 401; a key used from an
 * address outside its IP allowlist, a certificate and a key of different tenants, or a key without
 * the role get 403. Key use is counted and its first use per hour audited ({@link KeyUsageRecorder}).
 *
 * Failed authentications are counted per client address ({@link AuthFailureLimiter}); over the limit
 * the address gets 429 before its credential is looked up, so guessing keys costs no database query.
 * A credential this process has cached as valid still gets in from that address (it costs no query
 * either), so a flood from a shared address does not lock out the known keys behind it.
 */
export const authPlugin = fp(async (app: FastifyInstance, opts: AuthOptions) => {
  const publicPrefixes = opts.publicPrefixes ?? [];
  app.decorate('sessions', new SessionStore());
  app.decorate('keyUsage', new KeyUsageRecorder(opts.db, opts.usageFlushMs));
  app.decorate('declaredRoutes', [] as DeclaredRoute[]);
  app.decorate('authFailures', new AuthFailureLimiter(opts.failures));
  app.addHook('onRoute', (route) => {
    app.declaredRoutes.push(...checkDeclared(route, publicPrefixes));
  });
  app.addHook('onClose', async () => app.keyUsage.flush());

  app.addHook('onRequest', async (req) => {
    const roles = req.routeOptions.config?.roles;
    if (!roles) return;
    // `auth` in Server-Timing (api/plugins/server-timing.ts), when that plugin is registered.
    if (req.timing) await req.timing.measure('auth', () => authenticate(req, roles));
    else await authenticate(req, roles);
  });

  /** A key lookup through the cache: found keys are kept until they expire, unknown ones not at all. */
  const cached = (key: string, load: () => Promise<KeyRow | undefined>) =>
    opts.cache.read(key, load, (row) => (row ? (row.expiresAt ?? Infinity) : 0));
  const certKey = (fingerprint: string, ip: string) => `cert:${fingerprint}|${ip}`;
  const byCertificate = (fingerprint: string, ip: string) =>
    cached(certKey(fingerprint, ip), () => findApiKeyByCertificate(opts.db, fingerprint, ip));
  /** Before a credential is looked up: 429 for an address over its failures, unless the credential is cached. */
  const gate = (req: FastifyRequest, cacheKey: string) => {
    if (!opts.cache.has(cacheKey)) app.authFailures.check(req.ip);
  };
  /** A failed authentication: counted for the address, answered 401. */
  const failed = (req: FastifyRequest, detail: string) => {
    app.authFailures.fail(req.ip);
    return new HttpProblem(401, 'Unauthenticated', detail);
  };

  async function authenticate(req: FastifyRequest, roles: readonly Role[]): Promise<void> {
    const header = req.headers.authorization;
    const fingerprint = clientCertificateFingerprint(req);
    const cookieAuth = req.routeOptions.config.cookieAuth;
    const cookieName = cookieAuth === true ? SESSION_COOKIE : cookieAuth || undefined;
    const session =
      header === undefined && cookieName ? cookieValue(req.headers.cookie, cookieName) : undefined;
    let key: KeyRow | undefined;
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match)
        throw new HttpProblem(
          401,
          'Unauthenticated',
          'send an API key as "Authorization: Bearer <key>"',
        );
      const secret = match[1]!;
      const cacheKey = `key:${hashApiKey(secret)}|${req.ip}`;
      gate(req, cacheKey);
      key = await cached(cacheKey, () => findApiKey(opts.db, secret, req.ip));
      if (!key) throw failed(req, 'unknown, revoked or expired API key');
      if (fingerprint) {
        const certKey = await byCertificate(fingerprint, req.ip);
        if (certKey && certKey.tenant !== key.tenant)
          throw new HttpProblem(
            403,
            'Forbidden',
            'the client certificate and the API key belong to different tenants',
          );
      }
    } else if (session !== undefined) {
      const keyId = app.sessions.keyIdOf(session);
      const cacheKey = `id:${keyId}|${req.ip}`;
      gate(req, cacheKey);
      if (keyId) key = await cached(cacheKey, () => findApiKeyById(opts.db, keyId, req.ip));
      if (!key) {
        app.sessions.close(session);
        throw failed(req, 'the session expired: sign in again');
      }
    } else if (fingerprint) {
      gate(req, certKey(fingerprint, req.ip));
      key = await byCertificate(fingerprint, req.ip);
      if (!key) throw failed(req, 'this client certificate stands for no live API key');
    } else {
      throw new HttpProblem(
        401,
        'Unauthenticated',
        `send an API key as "Authorization: Bearer <key>"${req.routeOptions.config.cookieAuth ? ', or sign in' : ''}`,
      );
    }
    if (!key.ipAllowed)
      throw new HttpProblem(403, 'Forbidden', 'this API key may not be used from this address');
    if (!key.roles.some((r) => roles.includes(r))) {
      throw new HttpProblem(
        403,
        'Forbidden',
        `this route needs one of the roles: ${roles.join(', ')}`,
      );
    }
    req.principal = { keyId: key.id, tenant: key.tenant, roles: key.roles };
    await app.keyUsage.record(key.id, key.tenant);
  }
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
  app.authFailures.check(req.ip);
  const key = await findApiKey(db, apiKey, req.ip);
  if (!key) {
    app.authFailures.fail(req.ip);
    throw new HttpProblem(401, 'Unauthenticated', 'unknown, revoked or expired API key');
  }
  if (!key.ipAllowed)
    throw new HttpProblem(403, 'Forbidden', 'this API key may not be used from this address');
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

/**
 * The sign-in and sign-out routes of a browser session, under its path (`/review/login`,
 * `/codec/logout`). Public: the sign-in body carries the API key it checks.
 */
export function browserSessionRoutes(
  app: FastifyInstance,
  db: Pool,
  s: BrowserSession,
  doc: { tag: string; summary: string },
): void {
  const problem = { $ref: 'Problem#' } as const;
  app.post<{ Body: { apiKey: string } }>(
    `${s.path}/login`,
    {
      config: { public: true },
      schema: {
        tags: [doc.tag],
        summary: doc.summary,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['apiKey'],
          properties: { apiKey: { type: 'string', minLength: 1, maxLength: 200 } },
        },
        response: {
          200: {
            type: 'object',
            required: ['expiresAt'],
            properties: { expiresAt: { type: 'string' } },
          },
          400: problem,
          401: problem,
          403: problem,
        },
      },
    },
    async function login(req, reply) {
      return reply.send(await openBrowserSession(app, db, req, reply, req.body.apiKey, s));
    },
  );
  app.post(
    `${s.path}/logout`,
    { config: { public: true }, schema: { hide: true } },
    async function logout(req, reply) {
      closeBrowserSession(app, req, reply, s);
      return reply.code(204).send();
    },
  );
}
