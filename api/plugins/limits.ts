import { isUtf8 } from 'node:buffer';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { HttpProblem } from './problem';

export interface LimitsOptions {
  /** Requests per key (or, on public routes, per address) and window, per API process. */
  max: number;
  windowMs: number;
  /** Route prefixes of third-party plugins left as they are (the OpenAPI UI's assets take query strings). */
  exemptPrefixes?: readonly string[];
}

const EMPTY_QUERY = { type: 'object', additionalProperties: false, properties: {} } as const;

/**
 * Bounds on every request:
 * - per-key rate limiting with `@fastify/rate-limit` (429 with `Retry-After`, as problem+json): the
 *   key is the caller's API key once `authPlugin` has resolved it, else the client address (public
 *   routes: the codec sign-in, webhooks). Counters live in each process's memory, so N API processes
 *   allow up to N times `max`; the per-tenant send quota (PostgreSQL) is the bound across processes.
 * - strict query strings: a route without a `querystring` schema accepts none (unknown fields are
 *   refused with 400, like unknown body fields under the app's AJV options).
 * - JSON bodies only (415 for any other media type), in valid UTF-8 (400 naming `body`: Node would
 *   otherwise turn each invalid byte into U+FFFD and the message would go out changed). Body size
 *   limits are Fastify's `bodyLimit` (413), set when the app is built. A scope that needs the raw
 *   bytes (a signed webhook) removes this parser and adds its own.
 * Register after `authPlugin` and before the routes.
 */
export const limitsPlugin = fp(async (app: FastifyInstance, opts: LimitsOptions) => {
  const exempt = opts.exemptPrefixes ?? [];
  // Bodies are JSON only: any other media type is 415, not a string handed to a JSON schema.
  app.removeContentTypeParser('text/plain');
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    const bytes = body as Buffer;
    if (!isUtf8(bytes))
      return done(
        new HttpProblem(400, 'Invalid request', 'the request body is not valid UTF-8', ['body']),
        undefined,
      );
    void parseJson(req, bytes.toString('utf8'), done);
  });
  app.addHook('onRoute', (route) => {
    if (exempt.some((p) => route.url === p || route.url.startsWith(`${p}/`))) return;
    route.schema = { ...route.schema, querystring: route.schema?.querystring ?? EMPTY_QUERY };
  });
  await app.register(rateLimit, {
    global: true,
    max: opts.max,
    timeWindow: opts.windowMs,
    // Route-level hooks run after the app's onRequest hooks, so the principal is known here.
    hook: 'onRequest',
    keyGenerator: (req) => (req.principal ? `key:${req.principal.keyId}` : `ip:${req.ip}`),
    errorResponseBuilder: (_req, ctx) =>
      new HttpProblem(
        429,
        'Too many requests',
        `at most ${ctx.max} requests per ${Math.round(opts.windowMs / 1000)} s for this API key; retry after ${ctx.after}`,
      ),
  });
});
