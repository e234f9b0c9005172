import { createHmac } from 'node:crypto';
import type { DerivedKeys } from './derived-keys';

/** The label of the fingerprint key (encryption/derived-keys.ts); a new label would be a new key. */
export const REQUEST_FINGERPRINT_LABEL = 'sms/request-fingerprint/v1';

/**
 * Keyed fingerprints of accepted requests, so a reused `Idempotency-Key` with a different request
 * is told apart (409) without keeping anything that can be recomputed from the number and body:
 * HMAC-SHA256 under a key derived from Vault (once per process and key version, then cached: no Vault
 * round trip per accept). A stored fingerprint `fp<N>.<hex>` names the transit key version `N` it was
 * made under, so one made before a rotation of the Vault key still compares.
 */
export class RequestFingerprints {
  constructor(private readonly keys: DerivedKeys) {}

  /** Derives the current key ahead of the first request (a failure is retried at the first accept). */
  async warm(): Promise<void> {
    await this.keys.derive(REQUEST_FINGERPRINT_LABEL);
  }

  /** The fingerprint of a canonical request, under the current key. */
  async of(canonical: string): Promise<string> {
    return this.under(await this.keys.derive(REQUEST_FINGERPRINT_LABEL), canonical);
  }

  /** True when `stored` is the fingerprint of `canonical` (under the key version `stored` names). */
  async matches(stored: string, canonical: string): Promise<boolean> {
    const m = /^fp(\d+)\./.exec(stored);
    if (!m) return false;
    const key = await this.keys.derive(REQUEST_FINGERPRINT_LABEL, Number(m[1]));
    return this.under(key, canonical) === stored;
  }

  private under({ key, version }: { key: Buffer; version: number }, canonical: string): string {
    return `fp${version}.${createHmac('sha256', key).update(canonical).digest('hex')}`;
  }
}
