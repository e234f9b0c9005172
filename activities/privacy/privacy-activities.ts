/**
 * Retention, purge, suppression and erasure activities. They run on the message's region task queue
 * (the workflows that call them are started there): a purge touches personal data.
 * Each group lives in its own module; this one composes them from the worker's clients.
 */
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { Residency } from '../residency';
import type { SubscriberTokens } from '../../encryption/subscriber-token';
import type { RetentionDefaults } from '../../db/privacy';
import { createSuppressionActivities } from './check-suppression';
import { createErasureActivities } from './erase-messages';
import { createInFlightActivities, type MessageWorkflows } from './in-flight-messages';
import { createRetentionActivities } from './purge-due-messages';
import { createPurger } from './purge-messages';

export type { CheckSuppressionInput } from './check-suppression';
export type { EraseMessagesInput, SubjectOfErasure } from './erase-messages';
export type { MessageWorkflows } from './in-flight-messages';
export type { PurgeDueMessagesInput, SchedulePurgeInput } from './purge-due-messages';

/** What the privacy activities need: PostgreSQL, a Temporal client (history deletion), the message workflows (cancel, state), the retention defaults. */
export interface PrivacyActivityDeps {
  db: Pool;
  temporal: Client;
  messages: MessageWorkflows;
  log: Logger;
  retentionDefaults: RetentionDefaults;
  otpExemptDefault: boolean;
  /** The worker's region and identity: a sweep of another region is refused (WRONG_REGION). */
  residency?: Residency;
  /** The recipient's tokens by message id (suppression). */
  tokens: Pick<SubscriberTokens, 'ofMessage'>;
  /**
   * How long erasure tombstones are kept (ms; domain `TOMBSTONE_HORIZON_MS` plus the stuck-after
   * allowance): each sweep drops older ones of completed erasures. Unset: tombstones are kept.
   */
  tombstoneHorizonMs?: number;
}

/** Activities of retention, purge, opt-out suppression and erasure. */
export function createPrivacyActivities(deps: PrivacyActivityDeps) {
  const { db, temporal, messages } = deps;
  const purger = createPurger({ db, temporal });
  return {
    ...createSuppressionActivities(deps),
    ...createRetentionActivities({ ...deps, purger }),
    ...createErasureActivities({ db, purger }),
    ...createInFlightActivities({ db, messages, purger }),
  };
}

export type PrivacyActivities = ReturnType<typeof createPrivacyActivities>;
