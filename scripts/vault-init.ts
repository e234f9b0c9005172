/**
 * Configures a Vault for the app (docker-compose's `vault-init`): transit, the keys, and one AppRole
 * per identity (scripts/stack/openbao.ts, `ensureVaultIdentities`), each identity's credentials
 * written to its own folder so each container mounts only its own.
 *
 *   vault-init --out /approle --cidr api=172.28.0.10/32 --cidr worker-global=172.28.0.11/32 …
 *
 * Writes `<out>/<identity>/<identity>.json`. Authenticates with the token in VAULT_TOKEN (the
 * operator's, used for this only). An identity without `--cidr` may log in from nowhere but 127.0.0.1.
 */
import { join } from 'node:path';
import { loadConfig } from '../config/config';
import { credentialsFile, VAULT_IDENTITIES, type VaultIdentity } from '../config/stack';
import { ensureVaultIdentities } from './stack/openbao';

function args(name: string): string[] {
  return process.argv.flatMap((a, i) =>
    a === name && process.argv[i + 1] ? [process.argv[i + 1]!] : [],
  );
}

async function main() {
  const config = loadConfig();
  const auth = config.vault.auth;
  if (auth?.kind !== 'token')
    throw new Error('set VAULT_TOKEN to a token that may configure Vault');
  const out = args('--out')[0];
  if (!out) throw new Error('usage: vault-init --out DIR [--cidr identity=CIDR]...');
  const cidrs = new Map<string, string[]>();
  for (const pair of args('--cidr')) {
    const [identity, cidr] = pair.split('=');
    if (!VAULT_IDENTITIES.includes(identity as VaultIdentity) || !cidr)
      throw new Error(
        `--cidr ${pair}: expected identity=CIDR, identity one of ${VAULT_IDENTITIES.join(', ')}`,
      );
    cidrs.set(identity!, [...(cidrs.get(identity!) ?? []), cidr]);
  }
  await ensureVaultIdentities(config.vault.addr, auth.token, {
    credentialsFile: (identity) => credentialsFile(join(out, identity), identity),
    cidrs: (identity) => cidrs.get(identity) ?? ['127.0.0.1/32'],
  });
  process.stderr.write(`vault-init: ${VAULT_IDENTITIES.join(', ')} configured\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`vault-init failed: ${err.message}\n`);
  process.exit(1);
});
