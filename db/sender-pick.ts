/**
 * The pick of a sender number for a message (hot path): used by the `pickSender` activity and by
 * the API's dry runs. Sender numbers are ours, not personal data; subscriber tokens are keyed HMACs
 * and are only ever passed as query parameters, never logged or put in error messages. The pools
 * themselves are administered through `db/pools.ts`.
 */
import type { Pool, PoolClient } from 'pg';
import type { SubjectTokens } from '../encryption/subscriber-token';
import type { PoolPurpose, PoolStrategy } from './pools';
import { withTransaction } from './transaction';

/** What a message needs from a pool. */
export interface SenderQuery {
  tenant: string;
  purpose: PoolPurpose;
  /** ISO 3166 alpha-2 of the destination, upper case. */
  country: string;
  campaign?: string;
  /** The recipient's tokens: a sticky number is found under any live one, assigned under the current one. */
  subscriber: SubjectTokens;
  /** The message picked for: a sticky assignment keeps a copy of its sealed number (for token rotation). */
  messageId?: string;
  requestedSender?: string;
}

/** A number picked for a message, with its reserved send slot. */
export interface PickedSender {
  poolId: string;
  strategy: PoolStrategy;
  numberId: string;
  number: string;
  /** Epoch ms of the reserved slot. */
  notBefore: number;
}

interface LockedCandidate {
  poolId: string;
  strategy: PoolStrategy;
  /** The requested sender's row, or the subscriber's active sticky number (sticky pools). */
  preferredId: string | null;
  /** The row locked for this pick; null when another picker holds it (or every active number). */
  numberId: string | null;
  number: string | null;
}

const LRU_ORDER = 'n.next_available_at, n.last_used_at nulls first, n.id';

/**
 * Round trip 1: the best candidate pool and, in the same statement, a lock on its number. The
 * candidates are the tenant's unexpired pools for the purpose that serve the destination country or
 * any country (country null) and are general or for this message's campaign; among those with an
 * active number (the requested one, if any) the order is: the campaign's pool, geo-match before
 * fallback, the oldest pool. The number is the preferred one (requested, or the subscriber's sticky
 * number) or else the least recently used (earliest free slot, then never-used first), locked with
 * `FOR UPDATE SKIP LOCKED` so concurrent pickers spread over the numbers.
 */
async function lockCandidate(tx: PoolClient, q: SenderQuery): Promise<LockedCandidate | null> {
  const { rows } = await tx.query<LockedCandidate>(
    `with pool as (
       select p.id, p.strategy,
              case
                when $5::text is not null then
                  (select n.id from pool_numbers n
                    where n.pool_id = p.id and n.number = $5 and n.status = 'active')
                when p.strategy = 'sticky' then
                  (select n.id from sticky_senders s
                     join pool_numbers n on n.id = s.number_id and n.status = 'active'
                    where s.pool_id = p.id and s.subscriber_token = any($6)
                    order by s.updated_at desc limit 1)
              end as preferred_id
         from number_pools p
        where p.tenant = $1 and p.purpose = $2
          and (p.country is null or p.country = $3)
          and (p.campaign is null or p.campaign = $4)
          and (p.expires_at is null or p.expires_at > now())
          and exists (select 1 from pool_numbers n
                       where n.pool_id = p.id and n.status = 'active'
                         and ($5::text is null or n.number = $5))
        order by p.campaign is null, p.country is null, p.created_at, p.id
        limit 1
     )
     select pool.id as "poolId", pool.strategy, pool.preferred_id::text as "preferredId",
            picked.id::text as "numberId", picked.number
       from pool
       left join lateral (
         select n.id, n.number from pool_numbers n
          where n.pool_id = pool.id and n.status = 'active'
            and (pool.preferred_id is null or n.id = pool.preferred_id)
          order by ${LRU_ORDER}
          limit 1
          for update of n skip locked
       ) picked on true`,
    [
      q.tenant,
      q.purpose,
      q.country,
      q.campaign ?? null,
      q.requestedSender ?? null,
      q.subscriber.live,
    ],
  );
  return rows[0] ?? null;
}

/**
 * Contention path: locks the given number, waiting for it if another picker holds it, or (when
 * `numberId` is null) the pool's least recently used active number, skipping held ones unless
 * `wait`. Null when that number is no longer active, or (skipping) when every active one is held.
 */
async function lockNumber(
  tx: PoolClient,
  poolId: string,
  numberId: string | null,
  wait: boolean,
): Promise<{ numberId: string; number: string } | null> {
  const { rows } = await tx.query<{ numberId: string; number: string }>(
    `select n.id::text as "numberId", n.number from pool_numbers n
      where n.pool_id = $1 and n.status = 'active' and ($2::bigint is null or n.id = $2)
      order by ${LRU_ORDER}
      limit 1
      for update of n ${wait ? '' : 'skip locked'}`,
    [poolId, numberId],
  );
  return rows[0] ?? null;
}

/**
 * How often an LRU pick retries, with a fresh snapshot, when every active number is held, before
 * it waits for one. Waiting right away would queue all pickers on the number that was least
 * recently used when they looked, however far its slot has moved on meanwhile.
 */
const LRU_RETRIES = 20;
const jitter = () => new Promise((resolve) => setTimeout(resolve, 1 + Math.random() * 4));

/**
 * Round trip 2: reserves the locked number's next slot, `notBefore = greatest(now, next_available_at)`,
 * moves `next_available_at` on by 1/rate_per_second (rounded up to the microsecond), sets
 * `last_used_at`, and with `assignSticky` records the subscriber's sticky number, in one statement.
 * The row is locked since round trip 1, so this statement's snapshot holds its latest slot.
 */
async function reserveSlot(
  tx: PoolClient,
  poolId: string,
  numberId: string,
  assignSticky: boolean,
  q: SenderQuery,
): Promise<number> {
  const step = `interval '1 microsecond' * ceil(1000000 / n.rate_per_second)::float8`;
  const { rows } = await tx.query<{ notBefore: number }>(
    `with slot as (
       update pool_numbers n
          set next_available_at = greatest(statement_timestamp(), n.next_available_at) + ${step},
              last_used_at = now()
        where n.id = $2
        returning n.next_available_at - ${step} as not_before
     ), forget as (
       delete from sticky_senders
        where $4::boolean and pool_id = $1 and subscriber_token = any($5) and subscriber_token <> $3
     ), assigned as (
       insert into sticky_senders (pool_id, subscriber_token, number_id, number_ciphertext, transit_key)
       select $1, $3, $2, s.number_ciphertext, s.transit_key
         from (select 1) one
         left join message_secrets s on s.message_id = $6
        where $4::boolean
       on conflict (pool_id, subscriber_token)
         do update set number_id = excluded.number_id, updated_at = now(),
                       number_ciphertext = coalesce(excluded.number_ciphertext, sticky_senders.number_ciphertext),
                       transit_key = coalesce(excluded.transit_key, sticky_senders.transit_key)
     )
     select floor(extract(epoch from not_before) * 1000)::float8 as "notBefore" from slot`,
    [poolId, numberId, q.subscriber.current, assignSticky, q.subscriber.live, q.messageId ?? null],
  );
  return rows[0]!.notBefore;
}

/**
 * Picks a sender number for a message and reserves its next send slot, in one transaction of two
 * statements ({@link lockCandidate}, then the slot reservation); more only when other pickers hold
 * the number wanted (or all of them): then it waits for the sticky or requested number, or retries
 * the LRU pick. Because the number stays locked from choice to reservation, and the reservation
 * reads the latest committed slot, no two pickers ever get slots closer than the number's rate,
 * across processes. Two concurrent first messages to one subscriber of a sticky pool may get
 * different numbers; the later assignment is the one kept.
 *
 * The subscriber's sticky number is used while it is active; else the LRU number is, and recorded
 * (sticky pools). A requested sender is used as is, without a sticky record.
 * Null when nothing is eligible: no candidate pool with an active (requested) number.
 *
 * With `dryRun` the same pick runs and is rolled back: the answer is the number a send would get
 * now, and nothing is written (no slot reserved, no sticky assignment).
 */
export async function pickSenderSlot(
  db: Pool,
  q: SenderQuery,
  { dryRun = false }: { dryRun?: boolean } = {},
): Promise<PickedSender | null> {
  return withTransaction(db, (tx) => pickLocked(tx, q), {
    commitIf: (picked) => picked !== null && !dryRun,
  });
}

async function pickLocked(tx: PoolClient, q: SenderQuery): Promise<PickedSender | null> {
  const c = await lockCandidate(tx, q);
  if (!c) return null;
  let locked = c.numberId && c.number ? { numberId: c.numberId, number: c.number } : null;
  if (!locked && c.preferredId) {
    // The requested or sticky number is held by another picker: wait for it.
    locked = await lockNumber(tx, c.poolId, c.preferredId, true);
    // Quarantined or removed meanwhile: a request fails, a sticky subscriber moves (below).
    if (!locked && q.requestedSender) return null;
  }
  for (let attempt = 0; !locked && attempt < LRU_RETRIES; attempt++) {
    await jitter();
    locked = await lockNumber(tx, c.poolId, null, false);
  }
  locked ??= await lockNumber(tx, c.poolId, null, true);
  if (!locked) return null;
  const assignSticky =
    c.strategy === 'sticky' && !q.requestedSender && locked.numberId !== c.preferredId;
  const notBefore = await reserveSlot(tx, c.poolId, locked.numberId, assignSticky, q);
  return { poolId: c.poolId, strategy: c.strategy, ...locked, notBefore };
}
