import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { checkWebhookSignature, DEFAULT_TOLERANCE_SECONDS } from '../../domain/webhook-signature';
import { parseHttpReceipt } from '../../domain/receipts';
import { UnknownReceiptError, type ReceiptRouter } from '../../inbound/receipt-router';
import type { Config } from '../../config/config';
import { claimWebhookSignature, releaseWebhookSignature } from '../../db/webhook-signatures';
import { HttpProblem } from '../plugins/problem';

/**
 * `POST /v1/carriers/:name/receipts`: delivery receipts from HTTP carriers. Public (carriers hold no
 * API key) but signed: HMAC-SHA256 over timestamp and raw body with the carrier's webhook secret,
 * at most 5 minutes old, each signature accepted once across all API processes (claimed in
 * PostgreSQL, `webhook_signatures_seen`). A receipt that cannot be routed gives its claim back, so
 * the carrier's retry of the same delivery is not refused as a replay.
 */
export async function carrierReceiptRoutes(
  app: FastifyInstance,
  { config, db, routeReceipt }: { config: Config; db: Pool; routeReceipt: ReceiptRouter },
) {
  const secrets = new Map(
    config.carriers.flatMap((c) => (c.kind === 'http' ? [[c.name, c.webhookSecret] as const] : [])),
  );
  // The signature covers the exact bytes, so this scope keeps the raw body and parses it after verifying.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  );

  app.post<{ Params: { name: string }; Body: Buffer }>(
    '/v1/carriers/:name/receipts',
    {
      // Public: carriers hold no API key; the signature is their authentication.
      config: { public: true },
      schema: {
        tags: ['carriers'],
        summary: 'Delivery receipt webhook for HTTP carriers (signed)',
        params: {
          type: 'object',
          required: ['name'],
          properties: { name: { type: 'string', maxLength: 32 } },
        },
        response: {
          204: { type: 'null' },
          400: { $ref: 'Problem#' },
          401: { $ref: 'Problem#' },
          404: { $ref: 'Problem#' },
          409: { $ref: 'Problem#' },
        },
      },
    },
    async (req, reply) => {
      const secret = secrets.get(req.params.name);
      if (!secret) throw new HttpProblem(404, 'Not found');
      const verdict = checkWebhookSignature(
        secret,
        req.headers,
        req.body,
        Math.floor(Date.now() / 1000),
      );
      if (!verdict.ok)
        throw new HttpProblem(401, 'Invalid signature', `webhook refused: ${verdict.reason}`);
      const claim = `${req.params.name}:${verdict.replayKey}`;
      // Kept past the window in both directions (a timestamp up to 5 minutes ahead is accepted too).
      if (!(await claimWebhookSignature(db, claim, 2 * DEFAULT_TOLERANCE_SECONDS + 60)))
        throw new HttpProblem(401, 'Invalid signature', 'webhook refused: replayed');
      try {
        let receipt;
        try {
          receipt = parseHttpReceipt(JSON.parse(req.body.toString('utf8')));
        } catch {
          throw new HttpProblem(
            400,
            'Invalid receipt',
            'the body is not a receipt this API understands',
          );
        }
        try {
          await routeReceipt(req.params.name, receipt);
        } catch (err) {
          if (err instanceof UnknownReceiptError)
            throw new HttpProblem(
              409,
              'Unknown message',
              'no submitted message has this carrier id (yet); retry later',
            );
          throw err;
        }
      } catch (err) {
        await releaseWebhookSignature(db, claim);
        throw err;
      }
      return reply.status(204).send();
    },
  );
}
