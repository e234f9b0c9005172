/**
 * Subscriber tokens while two generations are live (a rotation in progress), on the real Vault and
 * PostgreSQL: lookups match a row of either generation, reading a message's number only then (and
 * auditing it); a generation retired before its rows were re-derived would lose them, which the
 * rotation's re-derivation restores.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ulid } from 'ulid';
import { createTokenActivities } from '../../activities/tokens/rotate-subscriber-tokens';
import {
  createVaultActivities,
  type TokenizeMessageInput,
} from '../../activities/vault/tokenize-message';
import { MessageCipher } from '../../encryption/message-cipher';
import { sealSubjectNumber, SubscriberTokens } from '../../encryption/subscriber-token';
import { addOptOut, isSuppressed } from '../../db/privacy';
import { newMessageId } from '../../domain/ids';
import { newDbPool, newVault, silentLog, unique } from '../helpers/stack';

describe('subscriber tokens across live generations', () => {
  const db = newDbPool();
  const vault = newVault();
  const cipher = new MessageCipher({ vault });
  afterAll(() => db.end());

  test('a lookup matches either live generation; retiring one unrederived loses its rows, re-deriving restores them', async () => {
    const tenant = unique('gen').toLowerCase();
    const to = `+44742${String(Date.now() % 10_000_000).padStart(7, '0')}`;
    // A rotation half-way: generations 1 and 2 of the tenant both live.
    await db.query(
      `insert into subscriber_token_generations (scope, generation, vault_key_version) values ($1, 1, 1), ($1, 2, 1)`,
      [tenant],
    );
    const tokens = new SubscriberTokens({ vault, db, cipher });
    const subject = await tokens.of(tenant, to);
    expect(subject.live).toHaveLength(2);
    expect(subject.current).toMatch(/^st2_/);
    expect(subject.live[1]).toMatch(/^st1_/);
    // Another tenant (scope '*'): unrelated tokens for the same number.
    const other = await tokens.of(unique('gen').toLowerCase(), to);
    for (const t of other.live) expect(subject.live).not.toContain(t);

    // An opt-out written under generation 1, a message tokenized under generation 2.
    const old = subject.live[1]!;
    await addOptOut(
      db,
      tenant,
      { current: old, live: [old] },
      'api',
      await sealSubjectNumber(vault, to, 'global'),
    );
    const messageId = newMessageId(ulid);
    const { tokenizeMessage } = createVaultActivities({ vault, db, log: silentLog, tokens });
    await new MockActivityEnvironment(undefined, {
      logger: new DefaultLogger('ERROR', () => undefined),
    }).run(tokenizeMessage, {
      messageId,
      tenant,
      purpose: 'marketing',
      region: 'global',
      country: 'GB',
      recipientHint: '+44••••••••00',
      encoding: 'GSM7',
      segments: 1,
      acceptedAt: Date.now(),
      to,
      body: 'Sale today!',
    } satisfies TokenizeMessageInput);
    const suppressed = async () =>
      isSuppressed(db, {
        tenant,
        purpose: 'marketing',
        subscriberTokens: (await tokens.ofMessage(messageId))!.live,
        otpExemptDefault: true,
      });
    expect(await suppressed()).toBe(true);
    const { rows: audits } = await db.query(
      `select 1 from audit_log where action = 'message.decrypt' and subject = $1
          and detail->>'component' = 'subscriber-tokens'`,
      [messageId],
    );
    expect(audits.length).toBeGreaterThan(0);

    // Retired without re-deriving: the opt-out no longer applies (what a rotation must not do).
    await db.query(
      `update subscriber_token_generations set retired_at = now() where scope = $1 and generation = 1`,
      [tenant],
    );
    tokens.refresh();
    expect(await suppressed()).toBe(false);

    // The rotation re-derives the opt-out from its sealed number: it applies again.
    const { rotateSubscriberTokens } = createTokenActivities({
      db,
      vault,
      cipher,
      tokens,
      log: silentLog,
    });
    const rotated = await rotateSubscriberTokens({ scope: tenant, graceMs: 0 });
    expect(rotated).toMatchObject({
      generation: 3,
      rederived: { optOuts: 1, stickySenders: 0, messages: 1 },
      unrecoverable: 0,
      retired: [2],
    });
    tokens.refresh();
    expect(await suppressed()).toBe(true);
  });
});
