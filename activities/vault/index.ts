import type { Logger } from 'pino';
import type { Pool } from 'pg';
import type { VaultClient } from '../../clients/vault';
import type { Region } from '../../domain/regions';

/** Transit key names: one data key per region, one HMAC key for subscriber tokens. */
export const transitKeys = {
  data: (region: Region) => `sms-${region}`,
  subscriberToken: 'subscriber-token',
};

export interface TokenizeMessageInput {
  messageId: string;
  tenant: string;
  purpose: string;
  region: Region;
  country: string;
  recipientHint: string;
  encoding: 'GSM7' | 'UCS2';
  segments: number;
  campaign?: string;
  callbackUrl?: string;
  acceptedAt: number;
  /** E.164, plaintext: encrypted here and never returned. */
  to: string;
  /** Plaintext body: encrypted here and never returned. */
  body: string;
}

export interface TokenizeMessageResult {
  /** HMAC of the normalized number under the `subscriber-token` key: stable per subscriber, not reversible without Vault. */
  subscriberToken: string;
}

/**
 * Activities that turn personal data into ciphertext and tokens (Vault transit), so the workflow
 * holds only tokens from then on.
 */
export function createVaultActivities({
  vault,
  db,
}: {
  vault: VaultClient;
  db: Pool;
  log: Logger;
}) {
  return {
    /**
     * Encrypts the number and body in one transit `batch_input` call under the region's key, derives
     * the subscriber token (transit HMAC), and stores the message row, its ciphertexts and its first
     * events in one statement. Idempotent: a retry after success keeps the first row.
     */
    async tokenizeMessage(input: TokenizeMessageInput): Promise<TokenizeMessageResult> {
      const key = transitKeys.data(input.region);
      const [[numberCt, bodyCt], [token]] = await Promise.all([
        vault.encryptBatch(key, [Buffer.from(input.to), Buffer.from(input.body)]),
        vault.hmacBatch(transitKeys.subscriberToken, [Buffer.from(input.to)]),
      ]);
      await db.query(
        `with m as (
           insert into messages (id, tenant, purpose, country, region, encoding, segments, status, campaign, recipient_hint, callback_url, created_at)
           values ($1, $2, $3, $4, $5, $6, $7, 'tokenized', $8, $9, $10, to_timestamp($11::double precision / 1000))
           on conflict (id) do nothing
           returning id, created_at
         ), s as (
           insert into message_secrets (message_id, subscriber_token, number_ciphertext, body_ciphertext, transit_key)
           select id, $12, $13, $14, $15 from m
         )
         insert into message_events (message_id, status, at)
         select id, 'accepted', created_at from m union all select id, 'tokenized', now() from m`,
        [
          input.messageId,
          input.tenant,
          input.purpose,
          input.country,
          input.region,
          input.encoding,
          input.segments,
          input.campaign ?? null,
          input.recipientHint,
          input.callbackUrl ?? null,
          input.acceptedAt,
          token,
          numberCt,
          bodyCt,
          key,
        ],
      );
      return { subscriberToken: token! };
    },
  };
}

export type VaultActivities = ReturnType<typeof createVaultActivities>;
