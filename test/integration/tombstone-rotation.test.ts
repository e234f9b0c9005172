/**
 * Erasure tombstones across a subscriber-token rotation, on the real Vault and PostgreSQL: the
 * tombstone keeps its subject's number sealed, the rotation re-derives its token (keeping the ones it
 * held while the old generation lives), so a message accepted before the erasure is still stopped at
 * tokenize after the old generation is retired; and a tombstone past its horizon is dropped.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ulid } from 'ulid';
import { createTokenActivities } from '../../activities/tokens/rotate-subscriber-tokens';
import {
  createVaultActivities,
  type TokenizeMessageInput,
  type TokenizeMessageResult,
} from '../../activities/vault/tokenize-message';
import { dropExpiredTombstones, recordErasure } from '../../db/erasures';
import { newMessageId } from '../../domain/ids';
import { TOMBSTONE_HORIZON_MS } from '../../domain/scheduling';
import { MessageCipher } from '../../encryption/message-cipher';
import { sealSubjectNumber, SubscriberTokens } from '../../encryption/subscriber-token';
import { newDbPool, newVault, silentLog, unique } from '../helpers/stack';

const activityEnv = () =>
  new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR', () => undefined) });

describe('erasure tombstones across a token rotation', () => {
  const db = newDbPool();
  const vault = newVault();
  const tokens = new SubscriberTokens({ vault, db });
  const tenant = unique('tombrot').toLowerCase();
  const to = `+44743${String(Date.now() % 10_000_000).padStart(7, '0')}`;
  const { tokenizeMessage } = createVaultActivities({ vault, db, log: silentLog, tokens });
  afterAll(() => db.end());

  const tokenize = (acceptedAt: number): Promise<TokenizeMessageResult> =>
    activityEnv().run(tokenizeMessage, {
      messageId: newMessageId(ulid),
      tenant,
      purpose: 'transactional',
      region: 'global',
      country: 'GB',
      recipientHint: '+44••••••••00',
      encoding: 'GSM7',
      segments: 1,
      acceptedAt,
      to,
      body: 'Your parcel arrives today.',
    } satisfies TokenizeMessageInput);
  const tombstone = async (erasureId: string) =>
    (
      await db.query<{ subscriber_token: string; previous_tokens: string[] }>(
        'select subscriber_token, previous_tokens from erasure_tombstones where erasure_id = $1',
        [erasureId],
      )
    ).rows[0];

  test('a tombstone recorded before a rotation still stops the subject after the old generation is retired; past its horizon it is dropped', async () => {
    const acceptedBefore = Date.now() - 60_000;
    const erasureId = `era_${ulid()}`;
    const subject = await tokens.of(tenant, to);
    const client = await db.connect();
    try {
      await recordErasure(client, {
        erasureId,
        tenant,
        requestedBy: 'test',
        subject,
        sealed: await sealSubjectNumber(vault, to, 'global'),
      });
    } finally {
      client.release();
    }
    const before = await tombstone(erasureId);
    expect(before).toEqual({ subscriber_token: subject.current, previous_tokens: [] });

    // The erasure completes (its messages purged); its tombstone stays, for messages accepted before it.
    await db.query(
      `update erasures set status = 'completed', completed_at = now(), subject_tokens = null where id = $1`,
      [erasureId],
    );
    // The operator's rotation of this tenant (the token-rotation identity opens sealed numbers).
    const rotation = newVault('token-rotation');
    const { rotateSubscriberTokens } = createTokenActivities({
      db,
      vault: rotation,
      cipher: new MessageCipher({ vault: rotation }),
      tokens,
      log: silentLog,
    });
    const rotated = await rotateSubscriberTokens({ scope: tenant, graceMs: 0 });
    expect(rotated.rederived.erasureTombstones).toBe(1);
    expect(rotated.unrecoverable).toBe(0);
    expect(rotated.retired.length).toBeGreaterThan(0);
    tokens.refresh();
    const after = await tombstone(erasureId);
    const now = await tokens.of(tenant, to);
    expect(now.live).toEqual([now.current]); // the old generation is retired
    expect(after).toEqual({ subscriber_token: now.current, previous_tokens: [] });
    expect(now.current).not.toBe(subject.current);

    // A message accepted before the erasure, tokenized now: stopped (no ciphertext stored).
    expect(await tokenize(acceptedBefore)).toMatchObject({ erased: true });
    // One accepted after it goes through.
    const later = await tokenize(Date.now() + 1_000);
    expect(later.erased).toBeUndefined();

    // Past its horizon (completed, recorded longer ago than any earlier message can still be sent):
    // dropped with its sealed number.
    await db.query(
      `update erasure_tombstones set created_at = created_at - $2 * interval '1 millisecond' where erasure_id = $1`,
      [erasureId, TOMBSTONE_HORIZON_MS + 1_000],
    );
    expect(await dropExpiredTombstones(db, new Date(), TOMBSTONE_HORIZON_MS)).toBeGreaterThan(0);
    expect(await tombstone(erasureId)).toBeUndefined();
  });
});
