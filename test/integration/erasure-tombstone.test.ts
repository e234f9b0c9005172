/**
 * The erasure tombstone at the two steps before dispatch, on the real Vault and PostgreSQL: tokenize
 * stores nothing of a message accepted before the erasure of its subject, and the carrier submit
 * refuses, before decrypting, a message tokenized before the erasure; messages accepted after it go
 * through. Also the purge backstop that tokenize records.
 */
import { ulid } from 'ulid';
import { createVaultActivities } from '../../activities/vault/tokenize-message';
import type { CarrierAdapter, SubmitRequest } from '../../carriers/types';
import { SubscriberTokens } from '../../encryption/subscriber-token';
import { recordErasure } from '../../db/erasures';
import {
  activityEnv,
  fakeCarrierActivities,
  tokenizeNew,
  type TokenizeFields,
} from '../helpers/message-activities';
import { newDbPool, newVault, silentLog, unique } from '../helpers/stack';

const DAY_S = 86_400;

describe('erasure tombstone at tokenize and at the carrier submit', () => {
  const db = newDbPool();
  const vault = newVault();
  const tokens = new SubscriberTokens({ vault, db });
  const tenant = unique('tombstone').toLowerCase();
  const to = `+44741${String(Date.now() % 10_000_000).padStart(7, '0')}`;
  const { tokenizeMessage } = createVaultActivities({
    vault,
    db,
    log: silentLog,
    tokens,
    backstop: {
      retentionDefaults: { otp: DAY_S, transactional: 30 * DAY_S, marketing: 90 * DAY_S },
      stuckAfterSeconds: 7 * DAY_S,
    },
  });
  const sent: SubmitRequest[] = [];
  const adapter: CarrierAdapter = {
    name: 'fake',
    async submit(req) {
      sent.push(req);
      return { carrierMessageIds: [`fake-${req.messageId}`], parts: 1, encoding: 'GSM7' };
    },
    close: async () => undefined,
  };
  const { submitToCarrier } = fakeCarrierActivities({ db, vault }, adapter);
  afterAll(() => db.end());

  const message = (acceptedAt: number): TokenizeFields => ({
    tenant,
    purpose: 'transactional',
    segments: 1,
    acceptedAt,
    validitySeconds: DAY_S,
    to,
    body: 'Your parcel arrives today.',
  });
  const tokenize = (acceptedAt: number) => tokenizeNew(tokenizeMessage, message(acceptedAt));
  const erase = async () => {
    const erasureId = `era_${ulid()}`;
    const subject = await tokens.of(tenant, to);
    const client = await db.connect();
    try {
      await recordErasure(client, { erasureId, tenant, requestedBy: 'test', subject });
    } finally {
      client.release();
    }
    return erasureId;
  };
  const submit = (messageId: string) =>
    activityEnv().run(submitToCarrier, { messageId, carrier: 'fake', sender: '+447700900001' });

  test('tokenize records the purge backstop: validity end + stuck-after + retention', async () => {
    const acceptedAt = Date.now();
    const { messageId, erased } = await tokenize(acceptedAt);
    expect(erased).toBeUndefined();
    const { rows } = await db.query<{ at: number }>(
      `select (extract(epoch from purge_after) * 1000)::float8 as at from messages where id = $1`,
      [messageId],
    );
    expect(rows[0]!.at).toBe(acceptedAt + (1 + 7 + 30) * DAY_S * 1000);
  });

  test('a message tokenized before the erasure is refused at the submit, before any decryption', async () => {
    const before = await tokenize(Date.now());
    const erasureId = await erase();
    await expect(submit(before.messageId)).rejects.toMatchObject({
      type: 'MESSAGE_ERASED',
      nonRetryable: true,
    });
    expect(sent.filter((r) => r.messageId === before.messageId)).toEqual([]);
    const { rows: decrypts } = await db.query(
      `select 1 from audit_log where action = 'message.decrypt' and subject = $1`,
      [before.messageId],
    );
    expect(decrypts).toEqual([]);

    // Accepted before the erasure, tokenized after it: stopped at tokenize, no ciphertext stored.
    const late = await tokenize(Date.now() - 60_000);
    expect(late.erased).toBe(true);
    const { rows } = await db.query(
      `select m.erased_by, (select count(*)::int from message_secrets s where s.message_id = m.id) as secrets
         from messages m where m.id = $1`,
      [late.messageId],
    );
    expect(rows).toEqual([{ erased_by: erasureId, secrets: 0 }]);
    // A retried tokenize answers the same.
    const again = await tokenizeNew(tokenizeMessage, {
      ...message(Date.now() - 60_000),
      messageId: late.messageId,
    });
    expect(again).toEqual({ messageId: late.messageId, stored: false, erased: true });

    // Accepted after the erasure: a new send to the number goes out.
    const after = await tokenize(Date.now() + 1_000);
    expect(after.erased).toBeUndefined();
    await expect(submit(after.messageId)).resolves.toMatchObject({ parts: 1 });
    expect(sent.map((r) => r.messageId)).toEqual([after.messageId]);
  });
});
