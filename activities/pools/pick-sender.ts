/**
 * Step 4 of a message: pick the sender number. Pools live in PostgreSQL (`db/sender-pick.ts`); a pick is
 * one transaction of two statements: choose and lock a number, then reserve its next send slot.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import type { Logger } from '../../config/logger';
import type { SubscriberTokens } from '../../encryption/subscriber-token';
import type { PoolPurpose } from '../../db/pools';
import { pickSenderSlot } from '../../db/sender-pick';
import { ErrorType } from '../../domain/error-types';

/** `ApplicationFailure` types thrown by the pool activities; all of them are non-retryable. */
export const PoolErrorType = {
  /**
   * No number can send this message: the tenant has no unexpired pool for the purpose, country
   * and campaign with an active number, or the requested sender is not an active number of one.
   */
  NO_SENDER_AVAILABLE: 'NO_SENDER_AVAILABLE',
} as const;
export type PoolErrorType = (typeof PoolErrorType)[keyof typeof PoolErrorType];

export interface PickSenderInput {
  messageId: string;
  tenant: string;
  /** ISO 3166 alpha-2 of the destination (case-insensitive). */
  country: string;
  purpose: PoolPurpose;
  campaign?: string;
  /** A sender the client asked for; must be an active number of one of its candidate pools. */
  requestedSender?: string;
}

export interface PickSenderResult {
  /** The sender number or alphanumeric id to submit with. */
  sender: string;
  poolId: string;
  numberId: string;
  /** The strategy of the pool the number came from. */
  strategy: 'lru' | 'sticky';
  /** Epoch ms of the reserved send slot. */
  notBefore: number;
  /**
   * How long after this activity ends the slot opens (0 when it is already open): the workflow sleeps
   * that long. Measured here, not in the workflow, whose clock is the start of its workflow task, so
   * earlier than any slot reserved during that task (a local activity's) by the task's own duration.
   */
  waitMs: number;
}

export interface PoolActivityDeps {
  db: Pool;
  log: Logger;
  /** The recipient's tokens, read by message id: the workflow holds none. */
  tokens: Pick<SubscriberTokens, 'ofMessage'>;
}

/** Builds the pool activities around a PostgreSQL pool. */
export function createPoolActivities({ db, log, tokens }: PoolActivityDeps) {
  /**
   * Picks the sender number for a message and reserves its send slot.
   *
   * Pool choice: the tenant's unexpired pools for the purpose; the message's campaign pool first
   * (campaign pools never serve other messages), then pools of the destination country, then
   * fallback pools (no country); the first of those with an active number wins. In a sticky pool
   * the subscriber keeps its number while that number is active, else gets the LRU number and
   * the assignment is recorded. In an LRU pool: the active number with the earliest free slot.
   * A `requestedSender` overrides both (no sticky assignment is recorded).
   *
   * The slot is reserved under the number's `rate_per_second` in the transaction that locks the
   * number, so concurrent pickers across workers never share a slot; `notBefore` may lie in the
   * future when a number is busy. Two statements in one transaction (more only under contention).
   * Safe to retry: a retry reserves a new slot, the old one goes unused.
   *
   * @throws ApplicationFailure `NO_SENDER_AVAILABLE` (non-retryable) when nothing is eligible.
   */
  async function pickSender(input: PickSenderInput): Promise<PickSenderResult> {
    const country = input.country.toUpperCase();
    const subscriber = await tokens.ofMessage(input.messageId);
    if (!subscriber)
      throw ApplicationFailure.nonRetryable(
        'the message holds no personal data any more',
        ErrorType.MESSAGE_PURGED,
      );
    const picked = await pickSenderSlot(db, { ...input, country, subscriber });
    if (!picked) {
      throw ApplicationFailure.nonRetryable(
        input.requestedSender
          ? 'no sender available: the requested sender is not an active number of an eligible pool'
          : `no sender available: no eligible pool with an active number (purpose ${input.purpose}, country ${country})`,
        PoolErrorType.NO_SENDER_AVAILABLE,
      );
    }
    const result: PickSenderResult = {
      sender: picked.number,
      poolId: picked.poolId,
      numberId: picked.numberId,
      strategy: picked.strategy,
      notBefore: picked.notBefore,
      waitMs: Math.max(0, picked.notBefore - Date.now()),
    };
    log.debug(
      {
        messageId: input.messageId,
        poolId: result.poolId,
        numberId: result.numberId,
        strategy: result.strategy,
        waitMs: result.waitMs,
      },
      'sender picked',
    );
    return result;
  }

  return { pickSender };
}

/** The pool activities, as the workflow proxies them (`proxyActivities<PoolActivities>`). */
export type PoolActivities = ReturnType<typeof createPoolActivities>;
