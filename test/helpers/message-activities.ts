/**
 * The tokenize and carrier-submit activities run outside a worker (MockActivityEnvironment), on the
 * real Vault and PostgreSQL, with one fake carrier: what the activity integration tests share.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { Pool } from 'pg';
import { ulid } from 'ulid';
import type { CircuitBreaker } from '../../activities/carriers/breaker';
import { createCarrierActivities } from '../../activities/carriers/carrier-activities';
import type {
  TokenizeMessageInput,
  TokenizeMessageResult,
  VaultActivities,
} from '../../activities/vault/tokenize-message';
import type { CarrierAdapter } from '../../carriers/types';
import type { VaultClient } from '../../clients/vault';
import { newMessageId } from '../../domain/ids';
import { silentLog } from './stack';

/** A fresh activity environment whose logger drops everything below errors. */
export const activityEnv = () =>
  new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR', () => undefined) });

/** The input fields a test chooses; the rest are those of a GB message in the global region. */
export type TokenizeFields = Pick<
  TokenizeMessageInput,
  'tenant' | 'purpose' | 'to' | 'body' | 'segments' | 'acceptedAt'
> &
  Partial<TokenizeMessageInput>;

/** Runs `tokenizeMessage` for a message (a new id unless `fields.messageId`); returns its id and result. */
export async function tokenizeNew(
  tokenizeMessage: VaultActivities['tokenizeMessage'],
  fields: TokenizeFields,
): Promise<TokenizeMessageResult & { messageId: string }> {
  const input: TokenizeMessageInput = {
    messageId: newMessageId(ulid),
    region: 'global',
    country: 'GB',
    recipientHint: '+44••••••••00',
    encoding: 'GSM7',
    ...fields,
  };
  const result: TokenizeMessageResult = await activityEnv().run(tokenizeMessage, input);
  return { messageId: input.messageId, ...result };
}

/** The carrier activities with `adapter` as the one carrier, named `fake`. */
export const fakeCarrierActivities = (
  { db, vault }: { db: Pool; vault: VaultClient },
  adapter: CarrierAdapter,
  breaker?: CircuitBreaker,
) =>
  createCarrierActivities({
    db,
    vault,
    log: silentLog,
    carriers: { get: () => adapter, eligible: () => ['fake'] },
    ...(breaker ? { breaker } : {}),
  });
