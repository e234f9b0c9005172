import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { VaultClient } from './vault';

/** Metadata marking a payload this codec encrypted. */
export const ENCODING = 'binary/encrypted';
const CIPHER = 'AES256-GCM';
const KEY_ID = 'encryption-key-id';
const WRAPPED_KEY = 'encryption-wrapped-key';

interface DataKey {
  id: string;
  wrapped: string;
  key: Buffer;
  createdAt: number;
}

export interface VaultPayloadCodecOptions {
  vault: VaultClient;
  /** Transit key that wraps the data keys (e.g. `codec-global`). */
  transitKey: string;
  /** A new data key is drawn after this long; older payloads keep decoding. Default 1 hour. */
  rotateAfterMs?: number;
  now?: () => number;
}

const str = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : '');

/**
 * Envelope encryption of every Temporal payload: AES-256-GCM under a data key that Vault transit
 * issues wrapped (`datakey/wrapped`). The key id and the wrapped key travel in the payload's metadata,
 * so any process with access to the transit key can decode, and keys rotate freely: a payload written
 * under an older data key (or an older transit key version) still decodes. Data keys are cached in
 * memory: one Vault call per rotation to encode, one per unseen key to decode.
 *
 * Shared by the API's client, the workers and the codec server, so Temporal stores nothing readable.
 */
export class VaultPayloadCodec implements PayloadCodec {
  private current: DataKey | undefined;
  private drawing: Promise<DataKey> | undefined;
  private readonly known = new Map<string, Promise<Buffer>>();
  private readonly rotateAfterMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: VaultPayloadCodecOptions) {
    this.rotateAfterMs = opts.rotateAfterMs ?? 3_600_000;
    this.now = opts.now ?? Date.now;
  }

  /** Forces the next encode to draw a new data key (also happens on schedule). */
  rotate(): void {
    this.current = undefined;
  }

  /** The id of the data key new payloads are encrypted under, if one was drawn. */
  get currentKeyId(): string | undefined {
    return this.current?.id;
  }

  private async dataKey(): Promise<DataKey> {
    if (this.current && this.now() - this.current.createdAt < this.rotateAfterMs)
      return this.current;
    this.drawing ??= (async () => {
      const wrapped = await this.opts.vault.wrappedDataKey(this.opts.transitKey);
      const [key] = await this.opts.vault.decryptBatch(this.opts.transitKey, [wrapped]);
      const dk = {
        id: createHash('sha256').update(wrapped).digest('hex').slice(0, 24),
        wrapped,
        key: key!,
        createdAt: this.now(),
      };
      this.known.set(dk.id, Promise.resolve(dk.key));
      this.current = dk;
      return dk;
    })().finally(() => {
      this.drawing = undefined;
    });
    return this.drawing;
  }

  private keyFor(id: string, wrapped: string): Promise<Buffer> {
    let key = this.known.get(id);
    if (!key) {
      key = this.opts.vault.decryptBatch(this.opts.transitKey, [wrapped]).then(([k]) => k!);
      key.catch(() => this.known.delete(id));
      this.known.set(id, key);
    }
    return key;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    if (payloads.length === 0) return payloads;
    const dk = await this.dataKey();
    return payloads.map((p) => {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', dk.key, iv);
      const plain = temporal.api.common.v1.Payload.encode(p).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          [METADATA_ENCODING_KEY]: str(ENCODING),
          'encryption-cipher': str(CIPHER),
          [KEY_ID]: str(dk.id),
          [WRAPPED_KEY]: str(dk.wrapped),
        },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(
      payloads.map(async (p) => {
        if (text(p.metadata?.[METADATA_ENCODING_KEY]) !== ENCODING) return p;
        const key = await this.keyFor(text(p.metadata?.[KEY_ID]), text(p.metadata?.[WRAPPED_KEY]));
        const data = Buffer.from(p.data ?? new Uint8Array());
        const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
        decipher.setAuthTag(data.subarray(data.length - 16));
        const plain = Buffer.concat([
          decipher.update(data.subarray(12, data.length - 16)),
          decipher.final(),
        ]);
        return temporal.api.common.v1.Payload.decode(plain) as Payload;
      }),
    );
  }
}

/** Path of the failure-converter module, for `failureConverterPath` (clients, workers, workflow bundles). */
export const failureConverterPath = require.resolve('./failure-converter');
