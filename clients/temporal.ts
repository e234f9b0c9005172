import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { Config } from '../config/config';
import { failureConverterPath, VaultPayloadCodec } from './codec';
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
 * Connects a Temporal client for the API and scripts, with the encrypting data converter (pass one
 * from {@link createDataConverter} to share its codec, e.g. with the API's codec server).
 */
export async function createTemporalClient(
  config: Config,
  vault: VaultClient,
  dataConverter: DataConverter = createDataConverter(config, vault).dataConverter,
): Promise<Client> {
  const connection = await Connection.connect({ address: config.temporal.address });
  return new Client({ connection, namespace: config.temporal.namespace, dataConverter });
}
