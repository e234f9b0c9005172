import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config/config';

/** Connects a Temporal client for the API and scripts (payload codec wiring lands with the privacy layer). */
export async function createTemporalClient(config: Config['temporal']): Promise<Client> {
  const connection = await Connection.connect({ address: config.address });
  return new Client({ connection, namespace: config.namespace });
}
