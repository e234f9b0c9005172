/**
 * Sending policy in PostgreSQL: country rules, the OTP velocity counters, the price table, spend
 * caps and per-message charges. Used by the API (admission, dry runs, admin routes, usage) and by
 * the `releaseCharge` activity. Nothing here holds personal data; the decisions themselves are in
 * `domain/policy.ts`.
 */
import type { Pool, PoolClient } from 'pg';
import { configChanged } from './config-cache';
import { retentionIntervalSql } from './privacy';
import type { Purpose } from '../workflows/definitions';
import { secondsToUtcMidnight } from './quotas';
import type { PendingStart } from './workflow-starts';
import {
  MAX_HOLD_WINDOWS,
  toMicros,
  windowStart,
  type CountryAction,
  type CountryRule,
  type OverLimit,
  type PriceRow,
} from '../domain/policy';

interface RuleRow {
  country: string;
  action: CountryAction;
  otpPerWindow: number | null;
  overLimit: OverLimit;
}

const RULE_COLUMNS = `country, action, otp_per_window as "otpPerWindow", over_limit as "overLimit"`;
const ruleOf = (r: RuleRow): CountryRule => ({
  country: r.country,
  action: r.action,
  otpPerWindow: r.otpPerWindow ?? undefined,
  overLimit: r.overLimit,
});

/** The tenant's country rules, by country. */
export async function listCountryRules(db: Pool, tenant: string): Promise<CountryRule[]> {
  const { rows } = await db.query<RuleRow>(
    `select ${RULE_COLUMNS} from country_rules where tenant = $1 order by country`,
    [tenant],
  );
  return rows.map(ruleOf);
}

/** Creates or replaces the tenant's rule for a country. */
export async function putCountryRule(
  db: Pool,
  tenant: string,
  rule: CountryRule,
): Promise<CountryRule> {
  const { rows } = await db.query<RuleRow>(
    `insert into country_rules (tenant, country, action, otp_per_window, over_limit)
     values ($1, $2, $3, $4, $5)
     on conflict (tenant, country) do update
       set action = excluded.action, otp_per_window = excluded.otp_per_window,
           over_limit = excluded.over_limit, updated_at = now()
     returning ${RULE_COLUMNS}`,
    [tenant, rule.country, rule.action, rule.otpPerWindow ?? null, rule.overLimit],
  );
  configChanged();
  return ruleOf(rows[0]!);
}

/** Removes the tenant's rule for a country (it is then allowed). False if there was none. */
export async function deleteCountryRule(
  db: Pool,
  tenant: string,
  country: string,
): Promise<boolean> {
  const r = await db.query('delete from country_rules where tenant = $1 and country = $2', [
    tenant,
    country,
  ]);
  configChanged();
  return (r.rowCount ?? 0) > 0;
}

// ---------------------------------------------------------------------------------------------
// Prices and caps

/** The price rows that apply to `tenant` (its own and the platform's '*'), optionally for some carriers. */
export async function listPrices(
  db: Pool,
  tenant: string,
  carriers?: readonly string[],
): Promise<PriceRow[]> {
  const { rows } = await db.query<{
    tenant: string;
    carrier: string;
    country: string;
    price: string;
  }>(
    `select tenant, carrier, country, price_per_segment::text as price from carrier_prices
      where tenant in ($1, '*') and ($2::text[] is null or carrier = any($2))
      order by carrier, country, tenant`,
    [tenant, carriers ?? null],
  );
  return rows.map((r) => ({ ...r, perSegment: toMicros(r.price) }));
}

/** Sets a price per segment (micro-units) for `tenant` ('*' = the platform list). */
export async function putPrice(
  db: Pool,
  row: { tenant: string; carrier: string; country: string; perSegment: number },
): Promise<void> {
  await db.query(
    `insert into carrier_prices (tenant, carrier, country, price_per_segment)
     values ($1, $2, $3, $4::numeric / 1000000)
     on conflict (tenant, carrier, country) do update
       set price_per_segment = excluded.price_per_segment, updated_at = now()`,
    [row.tenant, row.carrier, row.country, row.perSegment],
  );
  configChanged();
}

/** Removes one of the tenant's prices. False if there was none. */
export async function deletePrice(
  db: Pool,
  tenant: string,
  carrier: string,
  country: string,
): Promise<boolean> {
  const r = await db.query(
    'delete from carrier_prices where tenant = $1 and carrier = $2 and country = $3',
    [tenant, carrier, country],
  );
  configChanged();
  return (r.rowCount ?? 0) > 0;
}

/** The tenant's monthly cap in micro-units, or undefined when it has none. */
export async function findSpendCap(db: Pool, tenant: string): Promise<number | undefined> {
  const { rows } = await db.query<{ cap: string }>(
    'select monthly_cap::text as cap from spend_caps where tenant = $1',
    [tenant],
  );
  return rows[0] ? toMicros(rows[0].cap) : undefined;
}

/** Sets (micro-units) or, with null, removes the tenant's monthly cap. */
export async function putSpendCap(db: Pool, tenant: string, cap: number | null): Promise<void> {
  if (cap === null) await db.query('delete from spend_caps where tenant = $1', [tenant]);
  else
    await db.query(
      `insert into spend_caps (tenant, monthly_cap) values ($1, $2::numeric / 1000000)
       on conflict (tenant) do update set monthly_cap = excluded.monthly_cap, updated_at = now()`,
      [tenant, cap],
    );
  configChanged();
}

/** What the tenant has spent (charged, not released) in the month starting `month`, in micro-units. */
export async function monthSpend(db: Pool, tenant: string, month: string): Promise<number> {
  const { rows } = await db.query<{ spent: string }>(
    'select spent::text from tenant_spend where tenant = $1 and month = $2',
    [tenant, month],
  );
  return rows[0] ? toMicros(rows[0].spent) : 0;
}

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

// ---------------------------------------------------------------------------------------------
// Admission (hot path)

/**
 * What admission needs to know of a tenant's configuration, read in one round trip. It changes only
 * when an admin changes it, so the API keeps it in its configuration cache (db/config-cache.ts); the
 * month's spend is not part of it (the admission statement checks the cap against the live value).
 */
export interface PolicyRules {
  rule?: CountryRule;
  prices: PriceRow[];
  /** Micro-units. */
  cap?: number;
}

/** The tenant's rule for `country`, its prices for `carriers` and its cap, in one statement. */
export async function loadPolicyRules(
  db: Pool,
  tenant: string,
  country: string,
  carriers: readonly string[],
): Promise<PolicyRules> {
  const { rows } = await db.query<{
    rule: RuleRow | null;
    cap: string | null;
    prices: { tenant: string; carrier: string; country: string; price: string }[];
  }>(
    `select (select row_to_json(r) from (select ${RULE_COLUMNS} from country_rules
                                           where tenant = $1 and country = $2) r) as rule,
            (select monthly_cap::text from spend_caps where tenant = $1) as cap,
            (select coalesce(json_agg(json_build_object('tenant', tenant, 'carrier', carrier,
                                      'country', country, 'price', price_per_segment::text)), '[]')
               from carrier_prices where tenant in ($1, '*') and carrier = any($3)) as prices`,
    [tenant, country, carriers],
  );
  const r = rows[0]!;
  return {
    rule: r.rule ? ruleOf(r.rule) : undefined,
    prices: r.prices.map((p) => ({ ...p, perSegment: toMicros(p.price) })),
    cap: r.cap === null ? undefined : toMicros(r.cap),
  };
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
  const tx = await db.connect();
  let broken: Error | undefined;
  try {
    await tx.query('begin');
    const counted = await countVelocity(tx, a, a.velocity);
    const result =
      counted.kind === 'counted'
        ? await admitStatement(db, tx, a, counted.holdUntil, await startFor(counted.holdUntil))
        : counted;
    await tx.query(result.kind === 'admitted' ? 'commit' : 'rollback');
    return result;
  } catch (err) {
    await tx.query('rollback').catch((e: Error) => (broken = e));
    throw err;
  } finally {
    tx.release(broken);
  }
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

/**
 * Gives a message's reservation back (it was never handed to a carrier: cancelled, failed before
 * submit, expired…): its charge becomes `released` and leaves the month's spend. Idempotent: only
 * the first call changes anything. False when there was nothing to release.
 */
export async function releaseCharge(db: Pool, messageId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `with c as (
       update message_charges set state = 'released', released_at = now()
        where message_id = $1 and state = 'charged'
        returning tenant, month, price
     )
     update tenant_spend s set spent = s.spent - c.price
       from c where s.tenant = c.tenant and s.month = c.month and c.price is not null`,
    [messageId],
  );
  const { rows } = await db.query<{ state: string }>(
    'select state from message_charges where message_id = $1',
    [messageId],
  );
  return (rowCount ?? 0) > 0 || rows[0]?.state === 'released';
}

/** A message's recorded price (for the status answer) and its request's keyed fingerprint (for a retried POST). */
export async function findCharge(
  db: Pool,
  messageId: string,
): Promise<
  | { price: number | null; carrier: string | null; state: string; requestFingerprint?: string }
  | undefined
> {
  const { rows } = await db.query<{
    price: string | null;
    carrier: string | null;
    state: string;
    request_fingerprint: string | null;
  }>(
    'select price::text, carrier, state, request_fingerprint from message_charges where message_id = $1',
    [messageId],
  );
  const r = rows[0];
  return (
    r && {
      price: r.price === null ? null : toMicros(r.price),
      carrier: r.carrier,
      state: r.state,
      requestFingerprint: r.request_fingerprint ?? undefined,
    }
  );
}

export interface UsageByCountry {
  country: string;
  messages: number;
  segments: number;
  /** Micro-units. */
  spend: number;
  unpriced: number;
  monitored: number;
}

/** The tenant's spend in one month: charged messages by country, and those released. */
export async function usageOf(
  db: Pool,
  tenant: string,
  month: string,
): Promise<{ spent: number; byCountry: UsageByCountry[]; released: number }> {
  const [spent, byCountry, released] = await Promise.all([
    monthSpend(db, tenant, month),
    db.query<{
      country: string;
      messages: number;
      segments: number;
      spend: string;
      unpriced: number;
      monitored: number;
    }>(
      `select country, count(*)::int as messages, sum(segments)::int as segments,
              coalesce(sum(price), 0)::text as spend,
              count(*) filter (where price is null)::int as unpriced,
              count(*) filter (where country_rule = 'monitor')::int as monitored
         from message_charges where tenant = $1 and month = $2 and state = 'charged'
        group by country order by country`,
      [tenant, month],
    ),
    db.query<{ n: number }>(
      `select count(*)::int as n from message_charges where tenant = $1 and month = $2 and state = 'released'`,
      [tenant, month],
    ),
  ]);
  return {
    spent,
    byCountry: byCountry.rows.map((r) => ({ ...r, spend: toMicros(r.spend) })),
    released: released.rows[0]?.n ?? 0,
  };
}
