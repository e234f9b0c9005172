import { readFileSync } from 'node:fs';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import type { Config } from '../config/config';

type ApiTls = NonNullable<Config['api']['tls']>;

/**
 * The API's HTTPS options from the configured PEM files. With a CA bundle, clients are asked for a
 * certificate (mutual TLS): `required` refuses the handshake without a valid one, `optional` lets
 * the request through and authentication falls back to an API key. A valid certificate maps to an
 * API key (and so a tenant) through `client_certificates` (see api/plugins/auth.ts).
 */
export function httpsOptions(tls: ApiTls): TlsOptions & SecureContextOptions {
  const ca = tls.caPath ? readFileSync(tls.caPath) : undefined;
  return {
    cert: readFileSync(tls.certPath),
    key: readFileSync(tls.keyPath),
    minVersion: 'TLSv1.2',
    ...(ca ? { ca, requestCert: true, rejectUnauthorized: tls.clientCert === 'required' } : {}),
  };
}
