import { readFileSync } from 'node:fs';
import { Client, Connection, type ConnectionLike } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import type { Config } from '../config/config';
import { codecKey, REGIONS, type Region } from '../domain/regions';
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

/** A data converter and its codec (the codec is also what a codec server or a test decodes with). */
export interface RegionalConverter {
  dataConverter: DataConverter;
  codec: VaultPayloadCodec;
}

/**
 * One data converter per region for one Vault identity: each encodes under its region's codec key
 * (`codec-<region>`), all decode whatever payload the identity may decrypt, sharing their data keys.
 * A message's payloads (its start, signals, its workflow's own outputs) are sealed under its region's
 * key, so only that region's workers (and the operators' codec server) can open them.
 */
export function createRegionalConverters(
  config: Config,
  vault: VaultClient,
): Record<Region, RegionalConverter> {
  const first = new VaultPayloadCodec({
    vault,
    transitKey: codecKey(REGIONS[0]),
    rotateAfterMs: config.codec.rotateAfterMs,
  });
  return Object.fromEntries(
    REGIONS.map((region): [Region, RegionalConverter] => {
      const codec = first.withTransitKey(codecKey(region));
      return [region, { codec, dataConverter: { payloadCodecs: [codec], failureConverterPath } }];
    }),
  ) as Record<Region, RegionalConverter>;
}

/**
 * One Temporal client per region over one connection ({@link createRegionalConverters}): every start
 * of, signal to and query of a message workflow goes through the client of the message's region, so
 * it is encoded under that region's key. Calls that encode and decode no payload (describe, list,
 * delete, task queue reads) may use any of them.
 */
export class RegionalClients {
  private readonly clients: Record<Region, Client>;

  constructor(
    readonly connection: ConnectionLike,
    namespace: string,
    converters: Record<Region, RegionalConverter>,
  ) {
    this.clients = Object.fromEntries(
      REGIONS.map((region) => [
        region,
        new Client({ connection, namespace, dataConverter: converters[region].dataConverter }),
      ]),
    ) as Record<Region, Client>;
  }

  /** The client that encodes under `region`'s codec key. */
  forRegion(region: Region): Client {
    return this.clients[region];
  }
}

/** Connects {@link RegionalClients} for a process of `vault`'s identity (pass its converters to share their codecs with a worker). */
export async function connectRegionalClients(
  config: Config,
  vault: VaultClient,
  converters: Record<Region, RegionalConverter> = createRegionalConverters(config, vault),
): Promise<RegionalClients> {
  const connection = await Connection.connect(temporalConnectionOptions(config));
  return new RegionalClients(connection, config.temporal.namespace, converters);
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
