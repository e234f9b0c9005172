import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { DataKeyRing, openAesGcm, sealAesGcm } from './envelope';
import type { VaultClient } from '../clients/vault';

/** Metadata marking a payload this codec encrypted. */
export const ENCODING = 'binary/encrypted';
const CIPHER = 'AES256-GCM';
const KEY_ID = 'encryption-key-id';
const WRAPPED_KEY = 'encryption-wrapped-key';

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
 * issues with its wrapped form (`datakey/plaintext`). The key id and the wrapped key travel in the payload's metadata,
 * so any process with access to the transit key can decode, and keys rotate freely: a payload written
 * under an older data key (or an older transit key version) still decodes. Data keys are cached in
 * memory: one Vault call per rotation to encode, one per unseen key to decode.
 *
 * Shared by the API's client, the workers and the codec server, so Temporal stores nothing readable.
 */
export class VaultPayloadCodec implements PayloadCodec {
  private readonly keys: DataKeyRing;

  constructor(opts: VaultPayloadCodecOptions) {
    this.keys = new DataKeyRing({
      vault: opts.vault,
      transitKey: opts.transitKey,
      rotateAfterMs: opts.rotateAfterMs ?? 3_600_000,
      now: opts.now,
    });
  }

  /** Forces the next encode to draw a new data key (also happens on schedule). */
  rotate(): void {
    this.keys.rotate();
  }

  /** The id of the data key new payloads are encrypted under, if one was drawn. */
  get currentKeyId(): string | undefined {
    return this.keys.currentKeyId;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    if (payloads.length === 0) return payloads;
    const dk = await this.keys.sealingKey();
    return payloads.map((p) => ({
      metadata: {
        [METADATA_ENCODING_KEY]: str(ENCODING),
        'encryption-cipher': str(CIPHER),
        [KEY_ID]: str(dk.id),
        [WRAPPED_KEY]: str(dk.wrapped),
      },
      data: sealAesGcm(dk.key, temporal.api.common.v1.Payload.encode(p).finish()),
    }));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(
      payloads.map(async (p) => {
        if (text(p.metadata?.[METADATA_ENCODING_KEY]) !== ENCODING) return p;
        const key = await this.keys.openingKey(text(p.metadata?.[WRAPPED_KEY]));
        const plain = openAesGcm(key, Buffer.from(p.data ?? new Uint8Array()));
        return temporal.api.common.v1.Payload.decode(plain) as Payload;
      }),
    );
  }
}

/** Path of the failure-converter module, for `failureConverterPath` (clients, workers, workflow bundles). */
export const failureConverterPath = require.resolve('./failure-converter');
