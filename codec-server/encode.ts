import type { FastifyInstance } from 'fastify';
import type { VaultPayloadCodec } from '../encryption/codec';
import {
  codecQuery,
  OPERATOR_ROUTE,
  fromJson,
  payloadsSchema,
  problem,
  toJson,
  type JsonPayload,
} from './payloads';

const encodeSchema = {
  tags: ['codec'],
  summary: 'Encodes payloads (signal inputs typed in the UI) with the Vault codec (operator)',
  querystring: codecQuery,
  body: payloadsSchema,
  response: { 200: payloadsSchema, 401: problem, 403: problem },
};

/**
 * `POST /codec/encode`: encrypts what an operator types in the UI (a signal's input) with `codec`,
 * as the API encodes its own payloads (same transit key), so workers read it like any other.
 */
export function encodeRoute(app: FastifyInstance, deps: { codec: VaultPayloadCodec }) {
  const { codec } = deps;
  app.post<{ Body: { payloads: JsonPayload[] } }>(
    '/codec/encode',
    { ...OPERATOR_ROUTE, schema: encodeSchema },
    async function encode(req) {
      return { payloads: (await codec.encode(req.body.payloads.map(fromJson))).map(toJson) };
    },
  );
}
