import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import type { Config } from '../config/config';
import type { VaultPayloadCodec } from '../encryption/codec';
import { corsForUi } from './cors';
import { decodeRoute } from './decode';
import { encodeRoute } from './encode';
import { signInRoutes } from './sign-in';

export interface CodecRouteDeps {
  /**
   * The codec under the `codec-server` Vault identity: decodes (decrypt on the codec keys only) and
   * encodes what an operator types in the UI (a signal's input) as the API encodes its own payloads,
   * under the same transit key (a new data key; it opens nothing more by it).
   */
  codec: VaultPayloadCodec;
  db: Pool;
  config: Config;
}

/**
 * The codec server for the Temporal UI and CLI (`POST /codec/decode`, `POST /codec/encode`), with the
 * Temporal codec-server protocol. Decoding answers **redacted** payloads only (see `redactValue`), of
 * the operator's own tenant only (others are replaced by `WITHHELD`; a `platform-operator`
 * sees every tenant's), and audits the message ids it revealed; encoding passes through (the UI
 * encodes signal inputs an operator types).
 *
 * Operators authenticate with `Authorization: Bearer <key>` (CLI `--codec-auth`), or from the browser
 * with the session cookie `GET /codec/login` opens. CORS answers the Temporal UI's origins only.
 */
export async function codecRoutes(app: FastifyInstance, deps: CodecRouteDeps): Promise<void> {
  corsForUi(app, deps.config.codec.uiOrigins);
  signInRoutes(app, deps);
  decodeRoute(app, deps);
  encodeRoute(app, deps);
}
