/**
 * Rotation of subscriber tokens (encryption/subscriber-token.ts): a new generation for one tenant or
 * for every tenant, the re-derivation of every stored token from the sealed number kept beside it,
 * and the retirement of the old generations once nothing holds them.
 */
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { MessageCipher } from '../../encryption/message-cipher';
import {
  SUBSCRIBER_TOKEN_KEY,
  type SubscriberTokens,
  type TokenGeneration,
} from '../../encryption/subscriber-token';
import type { VaultClient } from '../../clients/vault';
import { appendAudit } from '../../db/audit';
import { withTransaction } from '../../db/transaction';

export interface RotateSubscriberTokensInput {
  /** A tenant, or '*' for every tenant that has not been rotated on its own. */
  scope: string;
  /**
   * How long to wait after adding the generation before re-deriving, so every process has stopped
   * writing tokens of the old one: longer than the generation cache (5 s) plus the longest write
   * (a tokenize or pick activity). Default 30 s; 0 only when nothing else writes (tests).
   */
  graceMs?: number;
  /** Rows re-derived per statement batch. Default 200. */
  batchSize?: number;
}

export interface RotateSubscriberTokensResult {
  scope: string;
  generation: number;
  rederived: {
    erasureTombstones: number;
    optOuts: number;
    stickySenders: number;
    messages: number;
  };
  /** Rows on an old generation without a sealed number (written before numbers were kept): lost at retirement, so they block it. */
  unrecoverable: number;
  /** Generations retired now. */
  retired: number[];
}

/**
 * The tables holding subscriber tokens, with how each row's tenant is found. Erasure tombstones come
 * first and keep the tokens they held (`previous_tokens`): a message's stored token is re-derived
 * after them, so at every moment of a rotation the tombstone matches it, whichever generation it is on.
 */
const TABLES = [
  {
    key: 'erasureTombstones',
    table: 'erasure_tombstones',
    id: 't.erasure_id',
    tenant: 't.tenant',
    join: '',
    where: 't.erasure_id = $1',
    sealed: 't.number_ciphertext',
    transitKey: 't.transit_key',
    conflict: 'false',
    keep: ', previous_tokens = t.previous_tokens || t.subscriber_token',
  },
  {
    key: 'optOuts',
    table: 'opt_outs',
    id: 't.id::text',
    tenant: 't.tenant',
    join: '',
    where: 't.id = $1::bigint',
    sealed: 't.number_ciphertext',
    transitKey: 't.transit_key',
    // A subject opted out again under the new token meanwhile: keep that row, drop this one.
    conflict: `exists (select 1 from opt_outs o where o.tenant = t.tenant and o.subscriber_token = $2)`,
    keep: '',
  },
  {
    key: 'stickySenders',
    table: 'sticky_senders',
    id: "t.pool_id || ' ' || t.subscriber_token",
    tenant: 'p.tenant',
    join: 'join number_pools p on p.id = t.pool_id',
    where: "t.pool_id || ' ' || t.subscriber_token = $1",
    sealed: 't.number_ciphertext',
    transitKey: 't.transit_key',
    conflict: `exists (select 1 from sticky_senders o where o.pool_id = t.pool_id and o.subscriber_token = $2)`,
    keep: '',
  },
  {
    key: 'messages',
    table: 'message_secrets',
    id: 't.message_id',
    tenant: 'm.tenant',
    join: 'join messages m on m.id = t.message_id',
    where: 't.message_id = $1',
    sealed: 't.number_ciphertext',
    transitKey: 't.transit_key',
    conflict: 'false',
    keep: '',
  },
] as const;

/** `tenant` is covered by a rotation of `$scope` (parameter `n`): that tenant, or '*' for the tenants without their own scope. */
const inScope = (tenant: string, n: number) =>
  `(${tenant} = $${n} or ($${n} = '*' and ${tenant} not in
     (select scope from subscriber_token_generations where scope <> '*')))`;

/** A token of generation `g` (SQL LIKE pattern). */
const likeGeneration = (g: number) => (g === 0 ? 'vault:%' : `st${g}\\_%`);

/** The clients the rotation works with. */
export interface TokenActivityDeps {
  db: Pool;
  vault: VaultClient;
  /** Opens the sealed numbers (every region's key this process may use). */
  cipher: Pick<MessageCipher, 'open'>;
  tokens: SubscriberTokens;
  log: Logger;
}

/** Adds the scope's next generation, under the latest version of the transit key. */
async function addGeneration(
  { db, vault, tokens }: TokenActivityDeps,
  scope: string,
): Promise<number> {
  const probe = await vault.hmacAt(SUBSCRIBER_TOKEN_KEY, Buffer.from('sms/key-version-probe'));
  const vaultKeyVersion = Number(/^vault:v(\d+):/.exec(probe)?.[1]);
  try {
    return await withTransaction(db, async (client) => {
      await client.query('lock table subscriber_token_generations in share row exclusive mode');
      // A tenant rotated alone for the first time starts from the generations it used until now.
      await client.query(
        `insert into subscriber_token_generations (scope, generation, vault_key_version, retired_at)
         select $1, generation, vault_key_version, retired_at from subscriber_token_generations
          where scope = '*' and $1 <> '*'
            and not exists (select 1 from subscriber_token_generations where scope = $1)`,
        [scope],
      );
      const { rows } = await client.query<{ generation: number }>(
        `insert into subscriber_token_generations (scope, generation, vault_key_version)
         select $1, max(generation) + 1, $2 from subscriber_token_generations where scope = $1
         returning generation`,
        [scope, vaultKeyVersion],
      );
      return rows[0]!.generation;
    });
  } finally {
    tokens.refresh();
  }
}

/** Re-derives one table's rows of the scope that are not of `generation`; returns how many. */
async function rederiveTable(
  { db, cipher, tokens }: TokenActivityDeps,
  t: (typeof TABLES)[number],
  scope: string,
  generation: TokenGeneration,
  batchSize: number,
): Promise<number> {
  let done = 0;
  let after = '';
  for (;;) {
    const { rows } = await db.query<{
      id: string;
      tenant: string;
      sealed: string;
      transit_key: string;
    }>(
      `select ${t.id} as id, ${t.tenant} as tenant, ${t.sealed} as sealed, ${t.transitKey} as transit_key
         from ${t.table} t ${t.join}
        where ${inScope(t.tenant, 1)} and t.subscriber_token not like $2
          and ${t.sealed} is not null and ${t.id} > $3
        order by ${t.id} limit $4`,
      [scope, likeGeneration(generation.generation), after, batchSize],
    );
    if (rows.length === 0) return done;
    for (const r of rows) {
      const [number] = await cipher.open(r.transit_key, [r.sealed]);
      const token = await tokens.tokenAt(generation, r.tenant, number!.toString('utf8'));
      await db.query(
        `with dup as (delete from ${t.table} t where ${t.where} and ${t.conflict} returning 1)
         update ${t.table} t set subscriber_token = $2${t.keep} where ${t.where} and not exists (select 1 from dup)`,
        [r.id, token],
      );
      done++;
    }
    after = rows[rows.length - 1]!.id;
  }
}

/** Re-derives every table of the scope onto `generation`, tombstones first; counts per table. */
async function rederiveAll(
  deps: TokenActivityDeps,
  scope: string,
  generation: number,
  batchSize: number,
): Promise<RotateSubscriberTokensResult['rederived']> {
  const { rows } = await deps.db.query<TokenGeneration>(
    `select generation, vault_key_version as "vaultKeyVersion" from subscriber_token_generations
      where scope = $1 and generation = $2`,
    [scope, generation],
  );
  const target = rows[0]!;
  const rederived = { erasureTombstones: 0, optOuts: 0, stickySenders: 0, messages: 0 };
  for (const t of TABLES) rederived[t.key] = await rederiveTable(deps, t, scope, target, batchSize);
  return rederived;
}

/** Rows of the scope not on `generation` that have no sealed number to re-derive them from. */
async function countUnrecoverable(db: Pool, scope: string, generation: number): Promise<number> {
  const counts = await Promise.all(
    TABLES.map(async (t) => {
      const { rows } = await db.query<{ n: number }>(
        `select count(*)::int as n from ${t.table} t ${t.join}
          where ${inScope(t.tenant, 1)} and ${t.sealed} is null and t.subscriber_token not like $2`,
        [scope, likeGeneration(generation)],
      );
      return rows[0]!.n;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** Whether any row of the scope, or a running erasure, still holds a token of `generation`. */
async function generationHeld(db: Pool, scope: string, generation: number): Promise<boolean> {
  const held = await Promise.all(
    TABLES.map(async (t) => {
      const { rows } = await db.query(
        `select 1 from ${t.table} t ${t.join}
          where ${inScope(t.tenant, 1)} and t.subscriber_token like $2 limit 1`,
        [scope, likeGeneration(generation)],
      );
      return rows.length > 0;
    }),
  );
  const { rows: erasing } = await db.query(
    `select 1 from erasures e where status = 'running' and subject_tokens is not null
        and ${inScope('e.tenant', 1)} limit 1`,
    [scope],
  );
  return held.some(Boolean) || erasing.length > 0;
}

/** Retires the scope's older generations that no row holds any more (and no running erasure names). */
async function retireOld(
  { db, tokens }: TokenActivityDeps,
  scope: string,
  current: number,
): Promise<number[]> {
  const { rows: live } = await db.query<{ generation: number }>(
    `select generation from subscriber_token_generations
      where scope = $1 and retired_at is null and generation < $2`,
    [scope, current],
  );
  const retired: number[] = [];
  for (const { generation } of live) {
    if (await generationHeld(db, scope, generation)) continue;
    await db.query(
      `update subscriber_token_generations set retired_at = now()
        where scope = $1 and generation = $2 and retired_at is null`,
      [scope, generation],
    );
    // No row holds the retired generation's tokens: tombstones forget them too.
    await db.query(
      `update erasure_tombstones t
          set previous_tokens = array(select p from unnest(t.previous_tokens) p where p not like $2)
        where ${inScope('t.tenant', 1)} and exists (select 1 from unnest(t.previous_tokens) p where p like $2)`,
      [scope, likeGeneration(generation)],
    );
    retired.push(generation);
  }
  tokens.refresh();
  return retired;
}

/** The rotation itself (the activity `rotateSubscriberTokens`, documented there). */
async function rotateSubscriberTokens(
  deps: TokenActivityDeps,
  input: RotateSubscriberTokensInput,
): Promise<RotateSubscriberTokensResult> {
  const { db, log } = deps;
  const { scope, graceMs = 30_000, batchSize = 200 } = input;
  const generation = await addGeneration(deps, scope);
  log.info({ scope, generation }, 'subscriber-token generation added');
  if (graceMs > 0) await new Promise((r) => setTimeout(r, graceMs));
  const rederived = await rederiveAll(deps, scope, generation, batchSize);
  const unrecoverable = await countUnrecoverable(db, scope, generation);
  const retired = await retireOld(deps, scope, generation);
  const result = { scope, generation, rederived, unrecoverable, retired };
  await appendAudit(db, {
    actor: 'system:tokens',
    tenant: scope === '*' ? null : scope,
    action: 'subscriber_tokens.rotated',
    subject: null,
    detail: { ...result },
  });
  log.info(result, 'subscriber tokens rotated');
  return result;
}

/** Builds the rotation over the worker's (or the command's) clients. */
export function createTokenActivities(deps: TokenActivityDeps) {
  return {
    /**
     * Rotates the subscriber tokens of a scope: adds a generation (new tokens from then on; lookups
     * match both), waits `graceMs`, re-derives every opt-out, sticky sender and unpurged message of
     * the scope from its sealed number, then retires the generations nothing holds any more. Opt-outs
     * and sticky senders are never dropped: until a row is re-derived, its old token still matches.
     * Safe to run again (a second run re-derives what the first missed, and retires what it could not).
     */
    rotateSubscriberTokens: (input: RotateSubscriberTokensInput) =>
      rotateSubscriberTokens(deps, input),
  };
}

export type TokenActivities = ReturnType<typeof createTokenActivities>;
