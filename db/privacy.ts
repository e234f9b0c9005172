import type { Pool, PoolClient } from 'pg';
import type { SubjectTokens } from '../encryption/subscriber-token';
import { PURPOSES, type Purpose } from '../domain/purposes';

/**
 * Retention, purge and opt-outs in PostgreSQL (erasures: db/erasures.ts; tables in
 * db/migrations/1764000003000_retention.sql). Subscribers appear here only as keyed HMAC tokens.
 */

type Db = Pool | PoolClient;

/** Retention in seconds per purpose. */
export type RetentionDefaults = Readonly<Record<Purpose, number>>;

/**
 * Tables other than `message_secrets` that hold a message's personal or subscriber-identifying
 * rows, keyed by `message_id`. A table that does not exist (yet) is skipped, so a later feature adds
 * its table here and the purge covers it.
 */
export const PERSONAL_MESSAGE_TABLES = [
  'message_secrets',
  'message_intake',
  'dispatch_journal',
  'message_events',
  'review_tasks',
  // The outbox row of a message not started yet (its sealed number and text: message_intake).
  'workflow_starts',
] as const;

/**
 * SQL for the tenant's retention of `purpose` as an interval: its override, else the default in
 * parameter `$<defaultParam>`; the tenant is parameter `$<tenantParam>`. The purpose names a column,
 * so only the known ones pass (a workflow input is typed, not trusted).
 */
export function retentionIntervalSql(
  purpose: Purpose,
  tenantParam: number,
  defaultParam: number,
): string {
  if (!PURPOSES.includes(purpose)) throw new Error(`unknown purpose ${String(purpose)}`);
  return `make_interval(secs => coalesce((select ${purpose}_retention_seconds from tenant_privacy_policies
                                          where tenant = $${tenantParam}), $${defaultParam}))`;
}

/**
 * Records when a finished message is due for purge: `finishedAt` plus the tenant's retention for the
 * purpose (its override, else `defaultSeconds`), in one statement; never later than the backstop the
 * tokenize step recorded. A message an erasure stopped at tokenize after that erasure had completed
 * (accepted in the same instant as the request) is due at `finishedAt`: no erasure will come for it.
 * Returns the due time (epoch ms), or undefined when the message is gone or purged already.
 */
export async function setPurgeAfter(
  db: Db,
  m: { messageId: string; tenant: string; purpose: Purpose; finishedAt: number },
  defaultSeconds: number,
): Promise<number | undefined> {
  const { rows } = await db.query<{ at: number }>(
    `update messages
        set purge_after = least(purge_after, to_timestamp($3::double precision / 1000) +
              case when exists (select 1 from erasures e where e.id = messages.erased_by and e.status = 'completed')
                   then interval '0' else ${retentionIntervalSql(m.purpose, 2, 4)} end)
      where id = $1 and purged_at is null
      returning (extract(epoch from purge_after) * 1000)::float8 as at`,
    [m.messageId, m.tenant, m.finishedAt, defaultSeconds],
  );
  return rows[0]?.at;
}

/** A tenant's privacy policy as stored (null = the default). */
export interface TenantPrivacyPolicy {
  retentionSeconds: Partial<Record<Purpose, number | null>>;
  otpExemptFromOptOut?: boolean | null;
}

/** Creates or changes a tenant's overrides; fields left out keep their value. */
export async function upsertTenantPolicy(
  db: Db,
  tenant: string,
  policy: TenantPrivacyPolicy,
): Promise<void> {
  const r = policy.retentionSeconds;
  await db.query(
    `insert into tenant_privacy_policies as p (tenant, otp_retention_seconds, transactional_retention_seconds,
                                               marketing_retention_seconds, otp_exempt_from_opt_out)
     values ($1, $2, $3, $4, $5)
     on conflict (tenant) do update set
       otp_retention_seconds = case when $6 then excluded.otp_retention_seconds else p.otp_retention_seconds end,
       transactional_retention_seconds = case when $7 then excluded.transactional_retention_seconds else p.transactional_retention_seconds end,
       marketing_retention_seconds = case when $8 then excluded.marketing_retention_seconds else p.marketing_retention_seconds end,
       otp_exempt_from_opt_out = case when $9 then excluded.otp_exempt_from_opt_out else p.otp_exempt_from_opt_out end,
       updated_at = now()`,
    [
      tenant,
      r.otp ?? null,
      r.transactional ?? null,
      r.marketing ?? null,
      policy.otpExemptFromOptOut ?? null,
      'otp' in r,
      'transactional' in r,
      'marketing' in r,
      policy.otpExemptFromOptOut !== undefined,
    ],
  );
}

/** A tenant's effective policy: its overrides over the defaults. */
export async function effectiveTenantPolicy(
  db: Db,
  tenant: string,
  defaults: { retention: RetentionDefaults; otpExempt: boolean },
): Promise<{ retentionSeconds: Record<Purpose, number>; otpExemptFromOptOut: boolean }> {
  const { rows } = await db.query<{
    otp_retention_seconds: number | null;
    transactional_retention_seconds: number | null;
    marketing_retention_seconds: number | null;
    otp_exempt_from_opt_out: boolean | null;
  }>(`select * from tenant_privacy_policies where tenant = $1`, [tenant]);
  const p = rows[0];
  return {
    retentionSeconds: {
      otp: p?.otp_retention_seconds ?? defaults.retention.otp,
      transactional: p?.transactional_retention_seconds ?? defaults.retention.transactional,
      marketing: p?.marketing_retention_seconds ?? defaults.retention.marketing,
    },
    otpExemptFromOptOut: p?.otp_exempt_from_opt_out ?? defaults.otpExempt,
  };
}

/** A number sealed under its region's transit key (MessageCipher or transit ciphertext), so a rotation can re-derive its token. */
export interface SealedNumber {
  ciphertext: string;
  transitKey: string;
}

/**
 * Adds a subscriber to a tenant's suppression list; true if it was not there yet (under any live
 * token generation). New rows get the current token and the sealed number.
 */
export async function addOptOut(
  db: Db,
  tenant: string,
  tokens: SubjectTokens,
  source: 'api' | 'mo',
  sealed: SealedNumber,
): Promise<{ id: string; created: boolean }> {
  const { rows } = await db.query<{ id: string; created: boolean }>(
    `with old as (
       select id from opt_outs where tenant = $1 and subscriber_token = any($3) order by id limit 1
     ), ins as (
       insert into opt_outs (tenant, subscriber_token, source, number_ciphertext, transit_key)
       select $1, $2, $4, $5, $6 where not exists (select 1 from old)
       on conflict (tenant, subscriber_token) do nothing returning id
     )
     select id::text, true as created from ins
     union all
     select id::text, false from old
     union all
     select id::text, false from opt_outs
      where tenant = $1 and subscriber_token = $2 and not exists (select 1 from ins) and not exists (select 1 from old)`,
    [tenant, tokens.current, tokens.live, source, sealed.ciphertext, sealed.transitKey],
  );
  return rows[0]!;
}

/** Removes an opt-out by the subscriber's tokens or by its id; true if one was removed. */
export async function removeOptOut(
  db: Db,
  tenant: string,
  by: { tokens: SubjectTokens } | { id: string },
): Promise<boolean> {
  const { rowCount } =
    'id' in by
      ? await db.query(`delete from opt_outs where tenant = $1 and id = $2::bigint`, [
          tenant,
          by.id,
        ])
      : await db.query(`delete from opt_outs where tenant = $1 and subscriber_token = any($2)`, [
          tenant,
          by.tokens.live,
        ]);
  return (rowCount ?? 0) > 0;
}

/** One page of a tenant's opt-outs, newest first (ids only: the subscriber is not readable here). */
export async function listOptOuts(
  db: Db,
  tenant: string,
  { limit, before }: { limit: number; before?: string },
): Promise<{ id: string; source: string; createdAt: Date }[]> {
  const { rows } = await db.query<{ id: string; source: string; created_at: Date }>(
    `select id::text, source, created_at from opt_outs
      where tenant = $1 and ($2::bigint is null or id < $2::bigint)
      order by id desc limit $3`,
    [tenant, before ?? null, limit],
  );
  return rows.map((r) => ({ id: r.id, source: r.source, createdAt: r.created_at }));
}

/** Whether a send of `purpose` to the subscriber is suppressed by the tenant's list and policy. */
export async function isSuppressed(
  db: Db,
  input: {
    tenant: string;
    purpose: Purpose;
    subscriberTokens: string[];
    otpExemptDefault: boolean;
  },
): Promise<boolean> {
  const { rows } = await db.query<{ suppressed: boolean }>(
    `select exists (select 1 from opt_outs where tenant = $1 and subscriber_token = any($2))
            and not ($3 = 'otp' and coalesce(
              (select otp_exempt_from_opt_out from tenant_privacy_policies where tenant = $1), $4))
            as suppressed`,
    [input.tenant, input.subscriberTokens, input.purpose, input.otpExemptDefault],
  );
  return rows[0]?.suppressed ?? false;
}

/**
 * Deletes every personal row of the messages (ciphertexts, receipt journal, status history, and
 * the tables in {@link PERSONAL_MESSAGE_TABLES} that exist) and reduces each message row to its
 * redacted billing record. Messages already purged are left alone. Returns the ids purged now,
 * with their tenants. Run it inside the caller's transaction.
 */
export async function purgeMessageRows(
  client: PoolClient,
  messageIds: readonly string[],
  reason: 'retention' | 'erasure',
): Promise<{ id: string; tenant: string }[]> {
  if (messageIds.length === 0) return [];
  const { rows: tables } = await client.query<{ name: string }>(
    `select t as name from unnest($1::text[]) t where to_regclass(t) is not null`,
    [PERSONAL_MESSAGE_TABLES],
  );
  for (const { name } of tables) {
    await client.query(`delete from ${name} where message_id = any($1)`, [messageIds]);
  }
  // An erasure also forgets the request's keyed fingerprint (a retried POST then cannot be compared);
  // the retention purge keeps it, so the idempotency check outlives the history.
  if (reason === 'erasure')
    await client.query(
      `update message_charges set request_fingerprint = null where message_id = any($1)`,
      [messageIds],
    );
  const { rows } = await client.query<{ id: string; tenant: string }>(
    `update messages set purged_at = now(), purge_reason = $2, recipient_hint = null,
            callback_url = null, sender = null, reason = null, updated_at = now()
      where id = any($1) and purged_at is null
      returning id, tenant`,
    [messageIds, reason],
  );
  return rows;
}

/** Claims up to `limit` messages of `region` due for purge at `now`, skipping rows another sweeper holds. */
export async function claimDuePurges(
  client: PoolClient,
  region: string,
  now: Date,
  limit: number,
): Promise<string[]> {
  const { rows } = await client.query<{ id: string }>(
    `select id from messages
      where region = $1 and purged_at is null and purge_after is not null and purge_after <= $2
      order by purge_after limit $3
      for update skip locked`,
    [region, now, limit],
  );
  return rows.map((r) => r.id);
}

/** Where an opt-out came from and when, by its id. */
export async function findOptOut(
  db: Db,
  id: string,
): Promise<{ source: string; createdAt: Date } | undefined> {
  const { rows } = await db.query<{ source: string; created_at: Date }>(
    `select source, created_at from opt_outs where id = $1`,
    [id],
  );
  return rows[0] && { source: rows[0].source, createdAt: rows[0].created_at };
}
