import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpProblem } from '../api/plugins/problem';
import { codecQuery } from './payloads';

/**
 * CORS for the Temporal UI's origins only: their requests get the CORS headers on every answer
 * (errors included, so the UI can tell a 401), their preflights (`OPTIONS /codec/*`) a 204, and a
 * browser request from any other site is refused before it does anything (CSRF with the cookie).
 */
export function corsForUi(app: FastifyInstance, uiOrigins: readonly string[]): void {
  const allowed = new Set(uiOrigins);
  const selfOrigin = (req: FastifyRequest) => `${req.protocol}://${req.headers.host ?? ''}`;

  app.addHook('onSend', async function corsHeaders(req, reply) {
    const origin = req.headers.origin;
    if (!origin || !allowed.has(origin)) return;
    reply.header('access-control-allow-origin', origin);
    reply.header('access-control-allow-credentials', 'true');
    reply.header('vary', 'Origin');
    if (req.method === 'OPTIONS') {
      reply.header('access-control-allow-methods', 'POST, OPTIONS');
      reply.header('access-control-allow-headers', 'content-type, x-namespace, authorization');
      reply.header('access-control-max-age', '600');
    }
  });
  app.addHook('onRequest', async function refuseOtherSites(req) {
    const origin = req.headers.origin;
    if (req.method !== 'OPTIONS' && origin && !allowed.has(origin) && origin !== selfOrigin(req))
      throw new HttpProblem(403, 'Forbidden', 'this origin may not call the codec server');
  });

  app.options(
    '/codec/*',
    { config: { public: true }, schema: { hide: true, querystring: codecQuery } },
    async function preflight(_req, reply) {
      return reply.code(204).send();
    },
  );
}
