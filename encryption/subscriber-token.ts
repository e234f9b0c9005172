import { createHmac } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { appendAudit } from '../db/audit';
import type { SealedNumber } from '../db/privacy';
import type { Region } from '../domain/regions';
import { DerivedKeys, PSEUDONYM_ROOT_KEY } from './derived-keys';
import type { MessageCipher } from './message-cipher';
import type { VaultClient } from '../clients/vault';

/** The transit key the tenants' subscriber-token keys derive from (and the legacy tokens' HMAC key). */
export const SUBSCRIBER_TOKEN_KEY = PSEUDONYM_ROOT_KEY;

type Queryable = Pool | PoolClient;

/**
 * A generation of subscriber tokens (table `subscriber_token_generations`). Generation 0 is the
 * legacy one: a transit HMAC of the number alone, the same for every tenant (`vault:vN:…`); it stays
 * live only until a rotation has re-derived the rows that hold it. Later generations are per tenant.
 */
export interface TokenGeneration {
  generation: number;
  /** The `subscriber-token` transit key version its tenant keys derive under (null: legacy). */
  vaultKeyVersion: number | null;
}

/** A subject's tokens at one tenant: `current` is what new rows get; `live` (current first) is what lookups match. */
export interface SubjectTokens {
  current: string;
  live: string[];
}

/** The generation a stored token was derived under: `st<g>_…`, or 0 for a legacy `vault:vN:…` token. */
export function generationOf(token: string): number {
  const m = /^st(\d+)_/.exec(token);
  return m ? Number(m[1]) : 0;
}

/** How long a process trusts the list of live generations it read (rotation waits longer: see docs/privacy.md, "Subscriber tokens"). */
export const GENERATIONS_CACHE_MS = 5_000;

/**
 * Subscriber tokens: the keyed pseudonym of a phone number at one tenant, which opt-outs, sticky
 * senders and erasures are keyed by. Per tenant, so one person is not linkable across tenants; per
 * generation, so they can be rotated, one tenant or all (activities/tokens, `npm run tokens`).
 *
 * A token of generation g ≥ 1 is `st<g>_` + HMAC-SHA256(K, E.164) in base64url, where K is the
 * tenant's key for g: a transit HMAC of `["sms/subscriber-token", g, tenant]` under the
 * `subscriber-token` key at the version the generation pins, derived once per process (DerivedKeys)
 * and cached, so tokenizing costs no Vault round trip. Lookups match every live generation's token, so
 * a rotation in progress loses nothing; new rows get the newest generation's.
 */
export class SubscriberTokens {
  private readonly keys: DerivedKeys;
  private readonly generations = new Map<
    string,
    { at: number; list: Promise<TokenGeneration[]> }
  >();

  constructor(
    private readonly opts: {
      vault: VaultClient;
      db: Queryable;
      /** Opens a message's sealed number when its stored token is not enough (during a rotation). */
      cipher?: Pick<MessageCipher, 'open'>;
      now?: () => number;
    },
  ) {
    this.keys = new DerivedKeys(opts.vault, SUBSCRIBER_TOKEN_KEY);
  }

  /** The tenant's live generations, newest first (cached {@link GENERATIONS_CACHE_MS}). */
  liveGenerations(tenant: string): Promise<TokenGeneration[]> {
    const now = (this.opts.now ?? Date.now)();
    let cached = this.generations.get(tenant);
    if (!cached || now - cached.at > GENERATIONS_CACHE_MS) {
      const list = readLiveGenerations(this.opts.db, tenant);
      cached = { at: now, list };
      this.generations.set(tenant, cached);
      list.catch(() => this.generations.delete(tenant));
    }
    return cached.list;
  }

  /** Forgets the cached generation lists (after a rotation step, in the process that made it). */
  refresh(): void {
    this.generations.clear();
  }

  /** The subject's token at `tenant` under generation `g`. */
  async tokenAt(g: TokenGeneration, tenant: string, e164: string): Promise<string> {
    if (g.vaultKeyVersion === null) {
      const [legacy] = await this.opts.vault.hmacBatch(SUBSCRIBER_TOKEN_KEY, [Buffer.from(e164)]);
      return legacy!;
    }
    const { key } = await this.keys.derive(
      JSON.stringify(['sms/subscriber-token', g.generation, tenant]),
      g.vaultKeyVersion,
    );
    return `st${g.generation}_${createHmac('sha256', key).update(e164).digest('base64url')}`;
  }

  /** The subject's tokens at `tenant` under every live generation (the one function for a number's token). */
  async of(tenant: string, e164: string): Promise<SubjectTokens> {
    const live = await Promise.all(
      (await this.liveGenerations(tenant)).map((g) => this.tokenAt(g, tenant, e164)),
    );
    if (!live[0]) throw new Error('no live subscriber-token generation');
    return { current: live[0], live };
  }

  /**
   * The live tokens of a message's recipient, from PostgreSQL: its stored token when that is of the
   * only live generation (no Vault, no decryption), else from its sealed number. Undefined when the
   * message holds no personal data (not tokenized yet, or purged).
   */
  async ofMessage(messageId: string): Promise<SubjectTokens | undefined> {
    const { rows } = await this.opts.db.query<{
      tenant: string;
      subscriber_token: string;
      number_ciphertext: string;
      transit_key: string;
    }>(
      `select m.tenant, s.subscriber_token, s.number_ciphertext, s.transit_key
         from message_secrets s join messages m on m.id = s.message_id where s.message_id = $1`,
      [messageId],
    );
    const r = rows[0];
    if (!r) return undefined;
    const live = await this.liveGenerations(r.tenant);
    if (live.length === 1 && generationOf(r.subscriber_token) === live[0]!.generation)
      return { current: r.subscriber_token, live: [r.subscriber_token] };
    if (!this.opts.cipher) throw new Error('SubscriberTokens needs a cipher to open a number');
    // Opening the number is a read of personal data: audited like dispatch's and review's.
    await appendAudit(this.opts.db, {
      actor: 'system:worker',
      tenant: r.tenant,
      action: 'message.decrypt',
      subject: messageId,
      detail: {
        component: 'subscriber-tokens',
        reason: 'several live token generations',
        fields: ['number'],
      },
    });
    const [number] = await this.opts.cipher.open(r.transit_key, [r.number_ciphertext]);
    return this.of(r.tenant, number!.toString('utf8'));
  }
}

/** The scope whose generations `tenant` uses: its own once rotated alone, else '*'. */
export const SCOPE_OF_TENANT_SQL = `case when exists (select 1 from subscriber_token_generations where scope = $1)
                                         then $1 else '*' end`;

async function readLiveGenerations(db: Queryable, tenant: string): Promise<TokenGeneration[]> {
  const { rows } = await db.query<TokenGeneration>(
    `select generation, vault_key_version as "vaultKeyVersion" from subscriber_token_generations
      where retired_at is null and scope = ${SCOPE_OF_TENANT_SQL} order by generation desc`,
    [tenant],
  );
  return rows;
}

/**
 * Seals a number kept beside a token (an opt-out) under its region's transit key `sms-<region>`, so a
 * rotation can re-derive the token: one transit `encrypt` (opt-outs are rare), opened like any
 * message secret (MessageCipher opens `vault:` ciphertexts).
 */
export async function sealSubjectNumber(
  vault: VaultClient,
  e164: string,
  region: Region,
): Promise<SealedNumber> {
  const transitKey = `sms-${region}`;
  const [ciphertext] = await vault.encryptBatch(transitKey, [Buffer.from(e164)]);
  return { ciphertext: ciphertext!, transitKey };
}
