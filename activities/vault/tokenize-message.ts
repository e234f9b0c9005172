import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import type { Pool, PoolClient } from 'pg';
import { MessageCipher } from '../../encryption/message-cipher';
import type { SubscriberTokens } from '../../encryption/subscriber-token';
import type { VaultClient } from '../../clients/vault';
import { appendAudit } from '../../db/audit';
import { withTransaction } from '../../db/transaction';
import { retentionIntervalSql, type RetentionDefaults } from '../../db/privacy';
import { purgeBackstopBase } from '../../domain/scheduling';
import { regionKey } from '../../domain/regions';
import type { AcceptedMessage } from '../../domain/accepted-message';
import { assertRegion, WRONG_REGION, type Residency } from '../residency';

/** Transit key names: one data key per region (subscriber tokens: encryption/subscriber-token.ts). */
export const transitKeys = {
  data: regionKey,
};

/**
 * The message as the API accepted it, minus what only the workflow needs. Its number and text are in
 * `message_intake`, sealed by the API; `to` and `body` come only from workflows started before that
 * (plaintext, sealed here and never returned).
 */
export interface TokenizeMessageInput extends AcceptedMessage {
  /** Plaintext number, only from workflows started before `message_intake` (sealed here, never returned). */
  to?: string;
  /** Plaintext text, only from workflows started before `message_intake` (sealed here, never returned). */
  body?: string;
}

/** ApplicationFailure type: the accepted message's sealed number and text are gone (erased or purged before tokenizing). */
export const MESSAGE_DATA_GONE = 'MESSAGE_DATA_GONE';

interface IntakeRow {
  transit_key: string;
  number_ciphertext: string;
  body_ciphertext: string;
}

/**
 * What tokenizing tells the workflow: no token. The subscriber token (per tenant, see
 * encryption/subscriber-token.ts) stays in PostgreSQL, where the later steps read it by message id, so
 * an operator decoding the workflow's payloads sees none.
 */
export interface TokenizeMessageResult {
  /** False when an earlier attempt had stored the message already (a retry). */
  stored: boolean;
  /**
   * An erasure of this subject at the tenant was requested after the message was accepted: nothing
   * was stored but the redacted row; the workflow must end without sending.
   */
  erased?: boolean;
}

/** The purge backstop recorded when personal data is first stored (see `tokenizeMessage`). */
export interface PurgeBackstop {
  retentionDefaults: RetentionDefaults;
  /** How long past its dispatch deadline a message may still legitimately run (receipts, failover). */
  stuckAfterSeconds: number;
}

/**
 * The answer for a message whose intake row is gone: tokenized before (a retried activity; its row
 * is past `accepted`), or ended by an erasure before it was tokenized (`erased`: nothing to send);
 * else its data is gone.
 */
async function tokenizedBefore(db: Pool, messageId: string): Promise<TokenizeMessageResult> {
  const { rows } = await db.query<{ stored: boolean; erased_by: string | null; ended: boolean }>(
    `select exists (select 1 from messages where id = $1 and status <> 'accepted') as stored,
            (select erased_by from messages where id = $1) as erased_by,
            exists (select 1 from message_charges where message_id = $1 and intake_ended_at is not null) as ended`,
    [messageId],
  );
  const { stored, erased_by, ended } = rows[0]!;
  if (stored) return erased_by ? { stored: false, erased: true } : { stored: false };
  if (ended) return { stored: false, erased: true };
  throw ApplicationFailure.nonRetryable(
    `the sealed number and text of message ${messageId} are gone`,
    MESSAGE_DATA_GONE,
  );
}

/**
 * The one statement that stores a tokenized message (see `storeMessage`): purge due after the
 * tenant's retention for `backstopPurpose` when a backstop is kept, else after `$17` seconds.
 */
const storeMessageSql = (backstopPurpose: AcceptedMessage['purpose'] | undefined) =>
  `with e as (select erasure_stopping_any($1, $2, $18::text[], to_timestamp($11::double precision / 1000)) as id),
           m as (
           insert into messages (id, tenant, purpose, country, region, encoding, segments, status, campaign, recipient_hint,
                                 callback_url, created_at, erased_by, purge_after)
           select $1, $2, $3, $4, $5, $6, $7, 'tokenized', $8, $9, $10, to_timestamp($11::double precision / 1000), e.id,
                  to_timestamp($16::double precision / 1000) + ${backstopPurpose ? retentionIntervalSql(backstopPurpose, 2, 17) : 'make_interval(secs => $17::int)'}
             from e
           on conflict (id) do update
             set status = 'tokenized', recipient_hint = excluded.recipient_hint,
                 callback_url = excluded.callback_url, erased_by = excluded.erased_by,
                 purge_after = excluded.purge_after, updated_at = now()
             where messages.status = 'accepted' and messages.purged_at is null
           returning id, created_at, erased_by, xmax = 0 as fresh
         ), s as (
           insert into message_secrets (message_id, subscriber_token, number_ciphertext, body_ciphertext, transit_key)
           select id, $12, $13, $14, $15 from m where erased_by is null
         ), c as (
           update message_charges set intake_ended_at = now() where message_id = $1 and intake_ended_at is null
         ), v as (
           insert into message_events (message_id, status, at)
           select id, 'accepted', created_at from m where fresh union all select id, 'tokenized', now() from m
         ), d as (
           delete from message_intake where message_id = $1 and exists (select 1 from m)
         )
         select exists (select 1 from m) as inserted,
                coalesce((select erased_by from m), (select erased_by from messages where id = $1)) as erased_by`;

/** The clients tokenizing works with. */
export interface VaultActivityDeps {
  vault: VaultClient;
  db: Pool;
  log: Logger;
  /** When set, every stored message gets a `purge_after` at once (else only when it finishes). */
  backstop?: PurgeBackstop;
  /** Derives the recipient's subscriber token at the message's tenant (keys cached: no Vault trip). */
  tokens: Pick<SubscriberTokens, 'of'>;
  /** Seals the number and body; share the worker's one instance so data keys are cached once. */
  cipher?: MessageCipher;
  /** The worker's region and identity: other regions' messages are refused (WRONG_REGION). */
  residency?: Residency;
}

/** The recipient's number in the clear (for its token) and the sealed number and text to store. */
interface SealedMessage {
  number: Buffer;
  numberCt: string;
  bodyCt: string;
}

/**
 * Seals the number and text of a workflow started before `message_intake` (its input holds them),
 * else opens the number the API sealed in `message_intake`. Undefined when the intake row is gone.
 */
async function sealedMessage(
  db: Pool,
  cipher: MessageCipher,
  input: TokenizeMessageInput,
  key: string,
): Promise<SealedMessage | undefined> {
  if (input.to !== undefined && input.body !== undefined) {
    // A workflow started before message_intake: its input still holds them.
    const number = Buffer.from(input.to);
    const [numberCt, bodyCt] = (await cipher.seal(key, [number, Buffer.from(input.body)])) as [
      string,
      string,
    ];
    return { number, numberCt, bodyCt };
  }
  const { rows } = await db.query<IntakeRow>(
    `select transit_key, number_ciphertext, body_ciphertext from message_intake
      where message_id = $1 and tenant = $2`,
    [input.messageId, input.tenant],
  );
  const intake = rows[0];
  if (!intake) return undefined;
  if (intake.transit_key !== key)
    throw ApplicationFailure.nonRetryable(
      `sealed data of message ${input.messageId} is not under its region's key`,
      WRONG_REGION,
    );
  const [number] = (await cipher.open(key, [intake.number_ciphertext])) as [Buffer];
  return { number, numberCt: intake.number_ciphertext, bodyCt: intake.body_ciphertext };
}

/**
 * Stores the message row, its secrets (unless an erasure stops it), its first events, ends its
 * intake, and audits it when this call inserted it, on `client` inside the caller's transaction.
 */
async function storeMessage(
  client: PoolClient,
  { backstop, residency }: Pick<VaultActivityDeps, 'backstop' | 'residency'>,
  input: TokenizeMessageInput,
  sealed: SealedMessage & { key: string; token: string; live: string[] },
): Promise<{ stored: boolean; erasedBy: string | null }> {
  const purpose = input.purpose;
  const backstopAt = backstop ? purgeBackstopBase(input, backstop.stuckAfterSeconds) : null;
  const { rows } = await client.query<{ inserted: boolean; erased_by: string | null }>(
    storeMessageSql(backstop ? purpose : undefined),
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
      sealed.token,
      sealed.numberCt,
      sealed.bodyCt,
      sealed.key,
      backstopAt,
      backstop?.retentionDefaults[purpose] ?? null,
      // Every live token of the recipient: a tombstone of any live generation stops it.
      sealed.live,
    ],
  );
  const { inserted } = rows[0]!;
  const erasedBy = rows[0]!.erased_by;
  // Audited once, in the same transaction as the rows: a retry that inserts nothing audits nothing.
  if (inserted) {
    await appendAudit(client, {
      actor: 'system:worker',
      tenant: input.tenant,
      action: 'message.accepted',
      subject: input.messageId,
      detail: {
        purpose: input.purpose,
        country: input.country,
        region: input.region,
        segments: input.segments,
        ...(erasedBy ? { erasedBy } : {}),
        ...(residency ? { worker: residency.identity } : {}),
      },
    });
  }
  return { stored: inserted, erasedBy };
}

/**
 * Activities that turn personal data into ciphertext and tokens (Vault transit), so the workflow
 * holds only tokens from then on.
 */
export function createVaultActivities({
  vault,
  db,
  cipher = new MessageCipher({ vault }),
  residency,
  backstop,
  tokens,
}: VaultActivityDeps) {
  return {
    /**
     * Opens the number the API sealed under the region's key (`message_intake`; its data key is
     * unwrapped once per key and process), derives the tenant's subscriber token (a key derived from
     * Vault once per process, encryption/subscriber-token.ts), and in one transaction stores the message
     * row, moves the ciphertexts as they are to `message_secrets`, writes its first events and deletes
     * the intake row. The API's admission wrote the row already (status `accepted`, no personal data):
     * it becomes `tokenized` with the recipient hint; a workflow started without the API (tests) gets
     * the whole row here. Idempotent: a retry after success changes nothing (the row is no longer
     * `accepted`, the intake row is gone).
     *
     * The purge backstop: the row is due for purge from the start, at its dispatch deadline plus
     * `stuckAfterSeconds` plus the tenant's retention, so a workflow that never finishes (stuck,
     * or ended without reaching `schedulePurge`) does not keep the ciphertexts forever; finishing
     * brings the date forward. An erasure of the subject requested after the message was accepted
     * (`erasure_stopping`) stores no ciphertext at all and answers `erased`.
     * @throws ApplicationFailure `WRONG_REGION` when the message belongs to another region than the worker's.
     * @throws ApplicationFailure `MESSAGE_DATA_GONE` when the intake row is gone and nothing was tokenized.
     */
    async tokenizeMessage(input: TokenizeMessageInput): Promise<TokenizeMessageResult> {
      assertRegion(residency, input.region);
      const key = transitKeys.data(input.region);
      const sealed = await sealedMessage(db, cipher, input, key);
      if (!sealed) return tokenizedBefore(db, input.messageId);
      const { current: token, live } = await tokens.of(input.tenant, sealed.number.toString());
      const { stored, erasedBy } = await withTransaction(db, (client) =>
        storeMessage(client, { backstop, residency }, input, { ...sealed, key, token, live }),
      );
      return erasedBy ? { stored, erased: true } : { stored };
    },
  };
}

export type VaultActivities = ReturnType<typeof createVaultActivities>;
