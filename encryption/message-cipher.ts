import { DataKeyRing, openAesGcm, sealAesGcm } from './envelope';
import type { VaultClient } from '../clients/vault';

/** Prefix of a message secret sealed by this cipher; `vault:` ciphertexts (transit, older rows) open too. */
const FORMAT = 'env1';

export interface MessageCipherOptions {
  vault: VaultClient;
  /** A new data key per transit key is drawn after this long. Default 5 minutes. */
  rotateAfterMs?: number;
  now?: () => number;
}

/**
 * Encrypts and decrypts a message's number and body (the `message_secrets` ciphertexts).
 *
 * Envelope encryption under the region's transit key: the API (at accept) draws a data key from
 * Vault (`datakey/plaintext` on `sms-<region>`: the key and its wrapped form, no decrypt permission
 * needed), seals with AES-256-GCM locally, and stores the wrapped key
 * in the ciphertext itself: `env1.<wrapped data key>.<base64 nonce‖ciphertext‖tag>`. Opening (the
 * region's worker) unwraps the data key through Vault once per key per process. So a message costs no transit round trip for
 * its secrets on average (one per rotation to seal, one per unseen key to open), where transit
 * `encrypt` + `decrypt` cost two; rotating or revoking the transit key still governs every secret,
 * and deleting the row still erases it. Plain transit ciphertexts (`vault:vN:…`) still open, through
 * Vault.
 */
export class MessageCipher {
  private readonly rings = new Map<string, DataKeyRing>();

  constructor(private readonly opts: MessageCipherOptions) {}

  private ring(transitKey: string): DataKeyRing {
    let ring = this.rings.get(transitKey);
    if (!ring) {
      ring = new DataKeyRing({
        vault: this.opts.vault,
        transitKey,
        rotateAfterMs: this.opts.rotateAfterMs ?? 300_000,
        now: this.opts.now,
      });
      this.rings.set(transitKey, ring);
    }
    return ring;
  }

  /** Forces new data keys on the next seal (tests; rotation also happens on schedule). */
  rotate(): void {
    for (const ring of this.rings.values()) ring.rotate();
  }

  /** Seals each plaintext under the current data key of `transitKey`. */
  async seal(transitKey: string, plaintexts: readonly Buffer[]): Promise<string[]> {
    const dk = await this.ring(transitKey).sealingKey();
    return plaintexts.map(
      (p) => `${FORMAT}.${dk.wrapped}.${sealAesGcm(dk.key, p).toString('base64')}`,
    );
  }

  /** Opens ciphertexts written by `seal` (or by transit `encrypt`) under `transitKey`; throws if any fails. */
  async open(transitKey: string, ciphertexts: readonly string[]): Promise<Buffer[]> {
    const viaVault = ciphertexts.filter((c) => !c.startsWith(`${FORMAT}.`));
    const fromVault = viaVault.length
      ? await this.opts.vault.decryptBatch(transitKey, viaVault)
      : [];
    let next = 0;
    return Promise.all(
      ciphertexts.map(async (c) => {
        if (!c.startsWith(`${FORMAT}.`)) return fromVault[next++]!;
        const [, wrapped, data] = c.split('.');
        if (!wrapped || !data) throw new Error('malformed message ciphertext');
        const key = await this.ring(transitKey).openingKey(wrapped);
        return openAesGcm(key, Buffer.from(data, 'base64'));
      }),
    );
  }
}
