import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { DataKeyRing, openAesGcm, sealAesGcm } from './envelope';
import type { VaultClient } from '../clients/vault';

/** Metadata marking a payload this codec encrypted. */
export const ENCODING = 'binary/encrypted';
const CIPHER = 'AES256-GCM';
const KEY_ID = 'encryption-key-id';
const WRAPPED_KEY = 'encryption-wrapped-key';
/** Metadata naming the transit key that wrapped the payload's data key (e.g. `codec-eu`). */
export const TRANSIT_KEY = 'encryption-transit-key';
/** The transit key of payloads written before {@link TRANSIT_KEY} was recorded (old histories decode under it). */
export const LEGACY_TRANSIT_KEY = 'codec-global';
/** Only codec keys may be named: a payload cannot make the codec unwrap under a data key such as `sms-eu`. */
const CODEC_KEY = /^codec-[a-z0-9-]+$/;

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
 * issues with its wrapped form (`datakey/plaintext`). The key id, the wrapped key and the name of the transit
 * key that wrapped it travel in the payload's metadata, so a process decodes under the key named there (one
 * codec reads every region's payloads its Vault identity may decrypt, and no other), and keys rotate freely: a payload written
 * under an older data key (or an older transit key version) still decodes. Data keys are cached in
 * memory: one Vault call per rotation to encode, one per unseen key to decode.
 *
 * Shared by the API's client, the workers and the codec server, so Temporal stores nothing readable.
 */
export class VaultPayloadCodec implements PayloadCodec {
  private readonly keys: DataKeyRing;
  /**
   * @param openers rings that open payloads, shared with {@link withTransitKey}'s codecs (a data key
   * unwrapped once opens for all of them).
   */
  constructor(
    private readonly opts: VaultPayloadCodecOptions,
    private readonly openers = new Map<string, DataKeyRing>(),
  ) {
    if (!CODEC_KEY.test(opts.transitKey))
      throw new Error(`payload codec: ${opts.transitKey} is not a codec transit key`);
    this.keys = this.opener(opts.transitKey);
  }

  /**
   * A codec of the same Vault identity that encodes under `transitKey` (another region's codec key)
   * and shares this one's data keys: one per region in a process (clients/temporal.ts, `RegionalClients`).
   */
  withTransitKey(transitKey: string): VaultPayloadCodec {
    return new VaultPayloadCodec({ ...this.opts, transitKey }, this.openers);
  }

  /** The transit key new payloads are encoded under. */
  get transitKey(): string {
    return this.opts.transitKey;
  }

  private ring(transitKey: string): DataKeyRing {
    return new DataKeyRing({
      vault: this.opts.vault,
      transitKey,
      rotateAfterMs: this.opts.rotateAfterMs ?? 3_600_000,
      now: this.opts.now,
    });
  }

  /** The ring that opens payloads wrapped under `transitKey` (a `codec-*` key only). */
  private opener(transitKey: string): DataKeyRing {
    if (!CODEC_KEY.test(transitKey))
      throw new Error('payload codec: the payload names a transit key that is not a codec key');
    let ring = this.openers.get(transitKey);
    if (!ring) {
      ring = this.ring(transitKey);
      this.openers.set(transitKey, ring);
    }
    return ring;
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
        [TRANSIT_KEY]: str(this.opts.transitKey),
      },
      data: sealAesGcm(dk.key, temporal.api.common.v1.Payload.encode(p).finish()),
    }));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(
      payloads.map(async (p) => {
        if (text(p.metadata?.[METADATA_ENCODING_KEY]) !== ENCODING) return p;
        const transitKey = text(p.metadata?.[TRANSIT_KEY]) || LEGACY_TRANSIT_KEY;
        const key = await this.opener(transitKey).openingKey(text(p.metadata?.[WRAPPED_KEY]));
        const plain = openAesGcm(key, Buffer.from(p.data ?? new Uint8Array()));
        return temporal.api.common.v1.Payload.decode(plain) as Payload;
      }),
    );
  }
}

/** Path of the failure-converter module, for `failureConverterPath` (clients, workers, workflow bundles). */
export const failureConverterPath = require.resolve('./failure-converter');
