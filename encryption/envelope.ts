import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { VaultClient } from '../clients/vault';

/** A 256-bit data key drawn from Vault transit, with its wrapped form (what is stored next to the data). */
export interface DataKey {
  /** Short, stable id of the data key (a digest of its wrapped form). */
  id: string;
  /** The key wrapped by the transit key (`vault:vN:…`); only Vault can unwrap it. */
  wrapped: string;
  key: Buffer;
  createdAt: number;
}

export interface DataKeyRingOptions {
  vault: VaultClient;
  /** Transit key that wraps the data keys (e.g. `codec-global`, `sms-eu`). */
  transitKey: string;
  /** A new data key is drawn after this long; data sealed under older keys keeps opening. */
  rotateAfterMs: number;
  now?: () => number;
}

/** The id of a wrapped data key. */
export const dataKeyId = (wrapped: string) =>
  createHash('sha256').update(wrapped).digest('hex').slice(0, 24);

/**
 * Envelope encryption's key management: data keys issued by Vault transit (`datakey/plaintext`:
 * the key and its wrapped form), cached in this process's memory; a key seen only wrapped is
 * unwrapped (`decrypt`) once. Sealing costs one Vault round trip per
 * rotation; opening costs one per data key this process has not seen. Rotating the transit key
 * itself needs nothing here: Vault unwraps every key version it still holds.
 *
 * Used by the Temporal payload codec and by the message-secret cipher.
 */
export class DataKeyRing {
  private current: DataKey | undefined;
  private drawing: Promise<DataKey> | undefined;
  private readonly known = new Map<string, Promise<Buffer>>();
  private readonly now: () => number;

  constructor(private readonly opts: DataKeyRingOptions) {
    this.now = opts.now ?? Date.now;
  }

  get transitKey(): string {
    return this.opts.transitKey;
  }

  /** Forces the next seal to draw a new data key (also happens on schedule). */
  rotate(): void {
    this.current = undefined;
  }

  /** The id of the data key new data is sealed under, if one was drawn. */
  get currentKeyId(): string | undefined {
    return this.current?.id;
  }

  /** The data key to seal under now, drawing a new one when the current one is due for rotation. */
  async sealingKey(): Promise<DataKey> {
    if (this.current && this.now() - this.current.createdAt < this.opts.rotateAfterMs)
      return this.current;
    this.drawing ??= (async () => {
      const { vault, transitKey } = this.opts;
      const { key, wrapped } = await vault.plaintextDataKey(transitKey);
      const dk = { id: dataKeyId(wrapped), wrapped, key, createdAt: this.now() };
      this.known.set(dk.id, Promise.resolve(dk.key));
      this.current = dk;
      return dk;
    })().finally(() => {
      this.drawing = undefined;
    });
    return this.drawing;
  }

  /** The plaintext of a wrapped data key: from the cache, else unwrapped by Vault once (concurrent callers share the call). */
  openingKey(wrapped: string): Promise<Buffer> {
    const id = dataKeyId(wrapped);
    let key = this.known.get(id);
    if (!key) {
      key = this.opts.vault.decryptBatch(this.opts.transitKey, [wrapped]).then(([k]) => k!);
      key.catch(() => this.known.delete(id));
      this.known.set(id, key);
    }
    return key;
  }
}

/**
 * AES-256-GCM with a random 96-bit nonce: `nonce ‖ ciphertext ‖ tag`. `aad` (optional) binds the
 * ciphertext to a context: it opens only with the same `aad`.
 */
export function sealAesGcm(key: Buffer, plain: Uint8Array, aad?: Buffer): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  if (aad) cipher.setAAD(aad);
  return Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

/** Opens `sealAesGcm` output; throws if the data or the key is not the one it was sealed with. */
export function openAesGcm(key: Buffer, data: Buffer, aad?: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
  if (aad) decipher.setAAD(aad);
  decipher.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([decipher.update(data.subarray(12, data.length - 16)), decipher.final()]);
}
