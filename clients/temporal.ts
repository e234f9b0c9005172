import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import type { Config } from '../config/config';
import { failureConverterPath, VaultPayloadCodec } from '../encryption/codec';
import type { VaultClient } from './vault';

/** The data converter every process uses: payloads and failures encrypted by the Vault-backed codec. */
export function createDataConverter(
  config: Config,
  vault: VaultClient,
): { dataConverter: DataConverter; codec: VaultPayloadCodec } {
  const codec = new VaultPayloadCodec({
    vault,
    transitKey: config.codec.transitKey,
    rotateAfterMs: config.codec.rotateAfterMs,
  });
  return { codec, dataConverter: { payloadCodecs: [codec], failureConverterPath } };
}

/**
 * The address, TLS settings and API key of the Temporal frontend, for `Connection.connect` (clients)
 * and `NativeConnection.connect` (workers) alike: plaintext unless `config.temporal.tls` is set; then
 * the CA bundle (else the system's roots), an mTLS client pair and an SNI override when configured.
 * A Temporal Cloud API key (which implies TLS in the config) is sent as a bearer token. The PEM files
 * and the API-key file are read here, at connect time.
 */
export function temporalConnectionOptions(config: Config): {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
} {
  const { tls, apiKey } = config.temporal;
  if (!tls) return { address: config.temporal.address };
  return {
    address: config.temporal.address,
    tls: {
      ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
      ...(tls.caPath ? { serverRootCACertificate: readFileSync(tls.caPath) } : {}),
      ...(tls.certPath && tls.keyPath
        ? { clientCertPair: { crt: readFileSync(tls.certPath), key: readFileSync(tls.keyPath) } }
        : {}),
    },
    ...(apiKey ? { apiKey: 'value' in apiKey ? apiKey.value : readApiKey(apiKey.file) } : {}),
  };
}

/** The API key in `file` (a mounted Secret may end with a newline); an empty file is refused by name. */
function readApiKey(file: string): string {
  const key = readFileSync(file, 'utf8').trim();
  if (!key) throw new Error(`TEMPORAL_API_KEY_FILE: ${file} is empty`);
  return key;
}

/**
 * Connects a Temporal client for the API and scripts, with the encrypting data converter (pass one
 * from {@link createDataConverter} to share its codec, e.g. with the API's codec server).
 */
export async function createTemporalClient(
  config: Config,
  vault: VaultClient,
  dataConverter: DataConverter = createDataConverter(config, vault).dataConverter,
): Promise<Client> {
  const connection = await Connection.connect(temporalConnectionOptions(config));
  return new Client({ connection, namespace: config.temporal.namespace, dataConverter });
}
