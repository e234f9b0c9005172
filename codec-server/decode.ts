import type { FastifyInstance } from 'fastify';
import { METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import type { Pool } from 'pg';
import { VaultError } from '../clients/vault';
import { appendAuditBatch } from '../db/audit';
import type { VaultPayloadCodec } from '../encryption/codec';
import { principalOf } from '../api/plugins/auth';
import { HttpProblem } from '../api/plugins/problem';
import {
  codecQuery,
  OPERATOR_ROUTE,
  fromJson,
  jsonPlain,
  payloadsSchema,
  problem,
  text,
  toJson,
  type JsonPayload,
} from './payloads';
import { redactPayload } from './redaction';
import { decodeAudit, scopeToTenant, WITHHELD } from './tenant-scope';

const NAMESPACE = /^[A-Za-z0-9._-]{1,255}$/;

/** Vault down or unreachable (a 5xx, not the client's fault), as opposed to a payload that does not decrypt. */
const unavailable = (err: unknown) =>
  err instanceof VaultError
    ? err.status >= 500
    : err instanceof Error && ['TypeError', 'AbortError', 'TimeoutError'].includes(err.name);

const decodeSchema = {
  tags: ['codec'],
  summary: 'Decodes Temporal payloads for the UI and CLI, redacted (operator)',
  querystring: codecQuery,
  body: payloadsSchema,
  response: { 200: payloadsSchema, 400: problem, 401: problem, 403: problem },
};

/**
 * `POST /codec/decode`: decrypts the payloads (400 if one does not decrypt; Vault unreachable stays a
 * 5xx), keeps those of the operator's own tenant ({@link scopeToTenant}; the others become
 * {@link WITHHELD}), answers them redacted ({@link redactPayload}) and audits the message ids revealed.
 */
export function decodeRoute(app: FastifyInstance, deps: { codec: VaultPayloadCodec; db: Pool }) {
  const { codec, db } = deps;
  app.post<{ Body: { payloads: JsonPayload[] } }>(
    '/codec/decode',
    { ...OPERATOR_ROUTE, schema: decodeSchema },
    async function decode(req) {
      const principal = principalOf(req);
      const header = req.headers['x-namespace'];
      const namespace = (Array.isArray(header) ? header[0] : header) || 'default';
      if (!NAMESPACE.test(namespace))
        throw new HttpProblem(400, 'Invalid request', 'x-namespace is not a namespace name', [
          'x-namespace',
        ]);
      const received = req.body.payloads.map(fromJson);
      let decoded: Payload[];
      try {
        decoded = await codec.decode(received);
      } catch (err) {
        if (unavailable(err)) throw err;
        throw new HttpProblem(400, 'Undecodable payload', 'a payload could not be decrypted');
      }
      const encrypted = received.map(
        (pl) => text(pl.metadata?.[METADATA_ENCODING_KEY]) === 'binary/encrypted',
      );
      const scoped = await scopeToTenant(db, decoded, principal, encrypted);
      await appendAuditBatch(db, decodeAudit(principal, namespace, scoped));
      return {
        payloads: scoped.payloads.map((s) =>
          toJson(s.visible ? redactPayload(s.payload) : jsonPlain(WITHHELD)),
        ),
      };
    },
  );
}
