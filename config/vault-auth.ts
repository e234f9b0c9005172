import { existsSync, readFileSync } from 'node:fs';
import type { Config } from './config';
import { ConfigError } from './env';
import type { Settings } from './settings';
import { credentialsFile, VAULT_IDENTITIES, type VaultIdentity } from './stack';

/** How the app authenticates to Vault: a token, or AppRole credentials it logs in with. */
export type VaultAuth =
  { kind: 'token'; token: string } | { kind: 'approle'; roleId: string; secretId: string };

/** Credentials set in the environment: they apply to this process whatever its identity (docker-compose, production). */
export function explicitVaultAuth(e: Settings): VaultAuth | undefined {
  if (e.VAULT_TOKEN) return { kind: 'token', token: e.VAULT_TOKEN };
  if (e.VAULT_ROLE_ID && e.VAULT_SECRET_ID) {
    return { kind: 'approle', roleId: e.VAULT_ROLE_ID, secretId: e.VAULT_SECRET_ID };
  }
  return undefined;
}

/** The AppRole credentials the local stack wrote for each identity (absent files: undefined). */
export function stackIdentities(dir: string): Partial<Record<VaultIdentity, VaultAuth>> {
  const out: Partial<Record<VaultIdentity, VaultAuth>> = {};
  for (const identity of VAULT_IDENTITIES) {
    const file = credentialsFile(dir, identity);
    if (!existsSync(file)) continue;
    const c = JSON.parse(readFileSync(file, 'utf8')) as { role_id?: string; secret_id?: string };
    if (c.role_id && c.secret_id)
      out[identity] = { kind: 'approle', roleId: c.role_id, secretId: c.secret_id };
  }
  return out;
}

/**
 * The Vault credentials of a process of kind `identity` (`api`, `worker-<region>`): those set in the
 * environment (VAULT_ROLE_ID + VAULT_SECRET_ID, or VAULT_TOKEN), else the identity's file from the
 * local stack. Undefined when there are none (the Vault client then refuses with a ConfigError).
 */
export function vaultAuthFor(config: Config, identity: VaultIdentity): VaultAuth | undefined {
  return config.vault.auth ?? config.vault.identities[identity];
}

/** The error a Vault client gives when `config.vault.auth` is undefined. */
export const missingVaultAuth = () =>
  new ConfigError([
    "VAULT_ROLE_ID+VAULT_SECRET_ID (or VAULT_TOKEN): none set, and VAULT_CREDENTIALS_DIR holds no AppRole credentials for this process's identity (run `npm run stack:up`)",
  ]);
