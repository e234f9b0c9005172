import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { ulid } from 'ulid';
import {
  callbackSecretsOfMessage,
  insertCallbackSecret,
  type SealedCallbackSecret,
} from '../db/callback-secrets';
import { DataKeyRing, openAesGcm, sealAesGcm } from './envelope';
import type { VaultClient } from '../clients/vault';

/**
 * Prefix of a sealed callback secret: `cbs2.<wrapped data key>.<base64 nonce‖ciphertext‖tag>`, the
 * data key wrapped by {@link CALLBACK_SECRETS_KEY}. `cbs1` secrets (sealed before it) are wrapped by
 * `codec-global`; they still open until the tenant rotates.
 */
const FORMAT = 'cbs2';
const LEGACY_FORMAT = 'cbs1';
/** The transit key of callback secrets: the API draws data keys under it, the workers decrypt; no codec key. */
export const CALLBACK_SECRETS_KEY = 'callback-secrets';
const LEGACY_KEY = 'codec-global';

/** The additional data a secret is sealed with: a sealed value copied to another tenant or row does not open. */
const context = (tenant: string, id: string) => Buffer.from(`callback-secret\n${tenant}\n${id}`);

/** A rotation's answer: the new secret, shown once, and the secrets still valid next to it. */
export interface RotatedCallbackSecret {
  id: string;
  /** The new secret in clear: returned to the admin once, never stored or logged. */
  secret: string;
  createdAt: Date;
  /** Earlier secrets still valid (callbacks carry their signatures too) and when each retires. */
  previous: { id: string; retiresAt: Date }[];
}

/**
 * Each tenant's callback signing secrets (table `callback_signing_secrets`): created and rotated
 * by the API (`POST /v1/callback-secrets`), used by the worker to sign status callbacks, so a tenant
 * can verify its callbacks and nobody else's. A secret must be usable to sign, so it is sealed, not
 * hashed: AES-256-GCM under a data key from Vault transit wrapped by its own transit key
 * (`callback-secrets`: the API seals, the workers open; the codec server has no access), with the
 * tenant and id as additional data.
 */
export class CallbackSecrets {
  private readonly ring: DataKeyRing;
  private readonly legacy: DataKeyRing;

  constructor(private readonly opts: { db: Pool; vault: VaultClient }) {
    const ring = (transitKey: string) =>
      new DataKeyRing({ vault: opts.vault, transitKey, rotateAfterMs: 3_600_000 });
    this.ring = ring(CALLBACK_SECRETS_KEY);
    this.legacy = ring(LEGACY_KEY);
  }

  /** Creates the tenant's new current secret; the previous one stays valid for `overlapSeconds`. */
  async rotate(tenant: string, overlapSeconds: number): Promise<RotatedCallbackSecret> {
    const id = `cbs_${ulid()}`;
    const secret = `cbsec_${randomBytes(32).toString('base64url')}`;
    const dk = await this.ring.sealingKey();
    const sealed = `${FORMAT}.${dk.wrapped}.${sealAesGcm(dk.key, Buffer.from(secret), context(tenant, id)).toString('base64')}`;
    const rows = await insertCallbackSecret(this.opts.db, { id, tenant, sealed }, overlapSeconds);
    const created = rows.find((r) => r.id === id)!;
    return {
      id,
      secret,
      createdAt: created.createdAt,
      previous: rows
        .filter((r) => r.id !== id && r.retiresAt !== null)
        .map((r) => ({ id: r.id, retiresAt: r.retiresAt! })),
    };
  }

  /** The valid secrets of the tenant that sent `messageId`, newest first; empty if it has none. */
  async forMessage(messageId: string): Promise<string[]> {
    const rows = await callbackSecretsOfMessage(this.opts.db, messageId);
    return Promise.all(rows.map((r) => this.open(r)));
  }

  private async open(row: SealedCallbackSecret): Promise<string> {
    const [format, wrapped, data] = row.sealed.split('.');
    const ring = format === FORMAT ? this.ring : format === LEGACY_FORMAT ? this.legacy : undefined;
    if (!ring || !wrapped || !data) throw new Error(`callback secret ${row.id}: unknown format`);
    const key = await ring.openingKey(wrapped);
    return openAesGcm(key, Buffer.from(data, 'base64'), context(row.tenant, row.id)).toString();
  }
}
