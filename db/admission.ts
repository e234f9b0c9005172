/**
 * Admission in PostgreSQL: the one statement that accepts a message (its charge, daily quota, spend
 * reservation, workflow start, status row and sealed intake) and the OTP velocity counters around
 * it. Used by the API's `POST /v1/messages` (api/admission.ts). The decisions that only read are in
 * `domain/policy.ts`; the configuration they read is in `db/policy.ts`.
 */
import type { Pool, PoolClient } from 'pg';
import { retentionIntervalSql } from './privacy';
import type { Purpose } from '../domain/purposes';
import { secondsToUtcMidnight } from './quotas';
import { withTransaction } from './transaction';
import type { PendingStart } from './workflow-starts';
import { MAX_HOLD_WINDOWS, windowStart, type OverLimit } from '../domain/policy';

/** OTPs counted so far in one velocity window (for dry runs; admission counts atomically). */
export async function velocityCount(
  db: Pool,
  tenant: string,
  country: string,
  windowStartMs: number,
): Promise<number> {
  const { rows } = await db.query<{ count: number }>(
    `select count from otp_velocity where tenant = $1 and country = $2 and window_start = to_timestamp($3::float8 / 1000)`,
    [tenant, country, windowStartMs],
  );
  return rows[0]?.count ?? 0;
}

export interface AdmitInput {
  messageId: string;
  tenant: string;
  /** The API key sending it: the statement refuses it unless the key is live at that moment. */
  keyId: string;
  /** Keyed fingerprint of the request, compared when the same Idempotency-Key comes again. */
  requestFingerprint?: string;
  month: string;
  country: string;
  purpose: Purpose;
  segments: number;
  carrier?: string;
  perSegment?: number;
  /** Micro-units; undefined = unpriced (no cap applies, see `checkPrice`). */
  price?: number;
  countryRule: 'allow' | 'monitor';
  /** The tenant's cap in micro-units, if any. */
  cap?: number;
  /** Count this OTP against the country's velocity limit. */
  velocity?: { limit: number; overLimit: OverLimit; windowMs: number; now: number };
  /** The daily send quota: the limit where `tenant_quotas` has no row, and the time (its UTC day counts). */
  quota: { defaultPerDay: number; now: Date };
  /**
   * The message's status row (`messages`, status `accepted`, and its first event), written by the
   * same statement so `GET /v1/messages/:id` reads it from the 202 on, whatever Temporal does. No
   * personal data: the recipient hint and callback URL come with tokenization. The API always
   * passes it; tests of the statement alone may leave it out.
   */
  record?: {
    region: string;
    encoding: string;
    campaign?: string;
    acceptedAt: number;
    /**
     * The purge backstop (epoch ms, before the tenant's retention; domain `purgeBackstopBase`): the
     * row is due for purge from admission on, so a message that is never started does not keep its
     * sealed number and text (`message_intake`) forever.
     */
    purgeBackstopAt: number;
    /** The default retention of the message's purpose (seconds), unless the tenant overrides it. */
    retentionSeconds: number;
  };
  /** The number and text, sealed under the region's key: stored with the start (`message_intake`). */
  sealed?: SealedMessage;
}

/** A message's personal data as the API sealed it (encryption/message-cipher.ts): what `message_intake` holds. */
export interface SealedMessage {
  region: string;
  transitKey: string;
  numberCiphertext: string;
  bodyCiphertext: string;
}

export type AdmitResult =
  | { kind: 'admitted'; holdUntil?: number }
  /** The message id was admitted before (a retried request): nothing counted twice. */
  | { kind: 'duplicate' }
  | { kind: 'velocity_exceeded'; retryAfterMs: number }
  | { kind: 'spend_cap_exceeded' }
  /** The API key was revoked or expired after the request was authenticated (from the cache). */
  | { kind: 'key_revoked' }
  | { kind: 'quota_exceeded'; limit: number; retryAfterSeconds: number };

/** The workflow start of an admitted message, given the time it is held until (if any). */
export type StartFor = (holdUntil: number | undefined) => Promise<PendingStart>;

/**
 * Admits one message atomically: its charge row (a second admission of the same id changes
 * nothing), one send from the tenant's daily quota (`tenant_quotas.sends_per_day`, else
 * `quota.defaultPerDay`), the price reserved under the monthly cap, and its workflow start
 * (`workflow_starts`, which the API's start relay takes from there) with the sealed number and text
 * (`message_intake`, which the region's worker opens). That is one statement: its
 * counters are conditional upserts (`on conflict … do update … where count < limit`), which lock the
 * row and re-check the latest value, so no limit can be overshot by concurrent requests on any number
 * of API replicas, and a refusal raises inside the statement (`admission_refused`), which undoes all
 * of it. The tenant's rows stay locked only for that one statement. The same statement checks that
 * the sending API key is still live, so a revoked key sends nothing from its revocation's commit on,
 * whatever an API process's cache still holds.
 *
 * With an OTP velocity limit the message is first counted in the current window, or with
 * `overLimit: hold` in the first later window with room (up to {@link MAX_HOLD_WINDOWS}), in a
 * transaction around the same statement.
 */
export async function admitMessage(
  db: Pool,
  a: AdmitInput,
  startFor: StartFor,
): Promise<AdmitResult> {
  if (!a.velocity) return admitStatement(db, db, a, undefined, await startFor(undefined));
  const velocity = a.velocity;
  return withTransaction(
    db,
    async (tx): Promise<AdmitResult> => {
      const counted = await countVelocity(tx, a, velocity);
      return counted.kind === 'counted'
        ? admitStatement(db, tx, a, counted.holdUntil, await startFor(counted.holdUntil))
        : counted;
    },
    { commitIf: (result) => result.kind === 'admitted' },
  );
}

async function countVelocity(
  tx: PoolClient,
  a: AdmitInput,
  { limit, overLimit, windowMs, now }: NonNullable<AdmitInput['velocity']>,
): Promise<
  { kind: 'counted'; holdUntil?: number } | { kind: 'velocity_exceeded'; retryAfterMs: number }
> {
  const windows = overLimit === 'hold' ? MAX_HOLD_WINDOWS : 1;
  for (let k = 0; k < windows; k++) {
    const start = windowStart(now, windowMs, k);
    const { rowCount } = await tx.query(
      `insert into otp_velocity as v (tenant, country, window_start, count)
       values ($1, $2, to_timestamp($3::float8 / 1000), 1)
       on conflict (tenant, country, window_start) do update set count = v.count + 1
         where v.count < $4`,
      [a.tenant, a.country, start, limit],
    );
    if (rowCount) return { kind: 'counted', holdUntil: k > 0 ? start : undefined };
  }
  return { kind: 'velocity_exceeded', retryAfterMs: windowStart(now, windowMs, 1) - now };
}

/** The admission statement (see `admitMessage`); `db` answers the quota's limit after a refusal. */
async function admitStatement(
  db: Pool,
  q: Pool | PoolClient,
  a: AdmitInput,
  holdUntil: number | undefined,
  start: PendingStart,
): Promise<AdmitResult> {
  try {
    const { rows } = await q.query<{ verdict: 'admitted' | 'duplicate' }>(
      `with c as (insert into message_charges (message_id, tenant, month, country, purpose, segments, carrier,
                                               price_per_segment, price, country_rule, held_until,
                                               request_fingerprint)
                  values ($1, $2, $3, $4, $5, $6, $7, $8::numeric / 1000000, $9::numeric / 1000000, $10,
                          to_timestamp($11::float8 / 1000), $20)
                  on conflict (message_id) do nothing
                  returning message_id),
            q as (select coalesce((select sends_per_day from tenant_quotas where tenant = $2), $12::int) as lim),
            u as (insert into tenant_send_usage as t (tenant, day, sends)
                    select $2, ($13::timestamptz at time zone 'UTC')::date, 1 from c, q where q.lim > 0
                    on conflict (tenant, day) do update set sends = t.sends + 1
                      where t.sends < (select lim from q)
                    returning t.sends),
            s as (insert into tenant_spend as s (tenant, month, spent)
                    select $2, $3, $9::numeric / 1000000 from c
                     where $9::numeric is not null and ($14::numeric is null or $9::numeric <= $14::numeric)
                    on conflict (tenant, month) do update set spent = s.spent + excluded.spent
                      where $14::numeric is null or s.spent + excluded.spent <= $14::numeric / 1000000
                    returning 1),
            k as (select 1 from api_keys where id = $19 and revoked_at is null
                    and (expires_at is null or expires_at > now())),
            o as (insert into workflow_starts (message_id, tenant, workflow_type, task_queue, args, search_attributes)
                    select $1, $2, $15, $16, $17, $18 from c
                    returning 1),
            m as (insert into messages (id, tenant, purpose, country, region, encoding, segments, status,
                                        campaign, created_at, purge_after)
                    select $1, $2, $5, $4, $21, $22, $6, 'accepted', $23,
                           to_timestamp($24::float8 / 1000),
                           to_timestamp($29::float8 / 1000) + ${retentionIntervalSql(a.purpose, 2, 30)}
                      from c where $21::text is not null
                    on conflict (id) do nothing
                    returning id, created_at),
            e as (insert into message_events (message_id, status, at)
                    select id, 'accepted', created_at from m),
            i as (insert into message_intake (message_id, tenant, region, transit_key, number_ciphertext, body_ciphertext)
                    select $1, $2, $25, $26, $27, $28 from c where $26::text is not null
                    returning 1)
       select case when not exists (select 1 from k) then admission_refused('key_revoked')
                   when not exists (select 1 from c) then 'duplicate'
                   when not exists (select 1 from u) then admission_refused('quota_exceeded')
                   when $9::numeric is not null and not exists (select 1 from s)
                     then admission_refused('spend_cap_exceeded')
                   else 'admitted' end as verdict`,
      [
        a.messageId,
        a.tenant,
        a.month,
        a.country,
        a.purpose,
        a.segments,
        a.carrier ?? null,
        a.perSegment ?? null,
        a.price ?? null,
        a.countryRule,
        holdUntil ?? null,
        a.quota.defaultPerDay,
        a.quota.now,
        a.cap ?? null,
        start.workflowType,
        start.taskQueue,
        start.args,
        JSON.stringify(start.searchAttributes),
        a.keyId,
        a.requestFingerprint ?? null,
        a.record?.region ?? null,
        a.record?.encoding ?? null,
        a.record?.campaign ?? null,
        a.record?.acceptedAt ?? null,
        a.sealed?.region ?? null,
        a.sealed?.transitKey ?? null,
        a.sealed?.numberCiphertext ?? null,
        a.sealed?.bodyCiphertext ?? null,
        a.record?.purgeBackstopAt ?? null,
        a.record?.retentionSeconds ?? null,
      ],
    );
    return rows[0]!.verdict === 'duplicate'
      ? { kind: 'duplicate' }
      : { kind: 'admitted', holdUntil };
  } catch (err) {
    const { code, message } = err as { code?: string; message?: string };
    if (code === 'P0001' && message === 'spend_cap_exceeded') return { kind: 'spend_cap_exceeded' };
    if (code === 'P0001' && message === 'key_revoked') return { kind: 'key_revoked' };
    if (code === 'P0001' && message === 'quota_exceeded') {
      const { rows } = await db.query<{ limit: number }>(
        `select coalesce((select sends_per_day from tenant_quotas where tenant = $1), $2::int) as "limit"`,
        [a.tenant, a.quota.defaultPerDay],
      );
      return {
        kind: 'quota_exceeded',
        limit: rows[0]!.limit,
        retryAfterSeconds: secondsToUtcMidnight(a.quota.now),
      };
    }
    throw err;
  }
}
