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
 * The address and TLS settings of the Temporal frontend, for `Connection.connect` (clients) and
 * `NativeConnection.connect` (workers) alike: plaintext unless `config.temporal.tls` is set; then
 * the CA bundle (else the system's roots), an mTLS client pair and an SNI override when configured.
 * The PEM files are read here, at connect time.
 */
export function temporalConnectionOptions(config: Config): {
  address: string;
  tls?: TLSConfig;
} {
  const tls = config.temporal.tls;
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
  };
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
