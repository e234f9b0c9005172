import type { VaultClient } from '../clients/vault';

/**
 * The transit key the pseudonymization keys derive from. It predates the derivation (it was the one
 * global subscriber-token HMAC key), so no new Vault key or policy is needed; every use derives under
 * its own label, so the derived keys are independent of one another and of the raw key.
 */
export const PSEUDONYM_ROOT_KEY = 'subscriber-token';

/** A key derived from a Vault transit key, and the transit key version it was derived under. */
export interface DerivedKey {
  key: Buffer;
  version: number;
}

/**
 * Keys derived from a Vault transit key as HMAC(transit key, label): computed by Vault once per label
 * and version, then cached in this process, so hot paths (accepting a message, tokenizing one) pay no
 * Vault round trip, while the key itself never leaves Vault and rotating it (a new transit key
 * version) gives new derived keys. A failed derivation is not cached.
 */
export class DerivedKeys {
  private readonly cache = new Map<string, Promise<DerivedKey>>();

  constructor(
    private readonly vault: VaultClient,
    private readonly transitKey = PSEUDONYM_ROOT_KEY,
  ) {}

  /** The key for `label` under transit key `version` (default: the latest at first use, then kept). */
  derive(label: string, version?: number): Promise<DerivedKey> {
    const id = `${version ?? 'latest'}|${label}`;
    let key = this.cache.get(id);
    if (!key) {
      key = this.vault.hmacAt(this.transitKey, Buffer.from(label), version).then(parseHmac);
      this.cache.set(id, key);
      key.then(
        (k) => this.cache.set(`${k.version}|${label}`, Promise.resolve(k)),
        () => this.cache.delete(id),
      );
    }
    return key;
  }
}

function parseHmac(hmac: string): DerivedKey {
  const m = /^vault:v(\d+):(.+)$/.exec(hmac);
  if (!m) throw new Error('unexpected transit HMAC format');
  return { version: Number(m[1]), key: Buffer.from(m[2]!, 'base64') };
}
