import type { ApplicationFailure } from '@temporalio/common';
import type { SubmitToCarrierResult } from '../../activities/carriers/carrier-activities';
import { CircuitBreaker } from '../../activities/carriers/breaker';
import { createVaultActivities } from '../../activities/vault/tokenize-message';
import { CarrierError, CarrierErrorType } from '../../carriers/errors';
import type { CarrierAdapter, SubmitHooks, SubmitRequest } from '../../carriers/types';
import { SubscriberTokens } from '../../encryption/subscriber-token';
import { activityEnv, fakeCarrierActivities, tokenizeNew } from '../helpers/message-activities';
import { newDbPool, newVault, rootVault, silentLog } from '../helpers/stack';

/** A carrier adapter that records what it was asked to send, acks parts, and can fail after some of them. */
function recordingAdapter(failAfterParts?: number) {
  const sent: { req: SubmitRequest; index: number }[] = [];
  const adapter: CarrierAdapter = {
    name: 'fake',
    async submit(req: SubmitRequest, hooks?: SubmitHooks) {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        if (req.ackedParts?.[i]) {
          ids.push(req.ackedParts[i]!);
          continue;
        }
        if (failAfterParts !== undefined && sent.length >= failAfterParts) {
          throw new CarrierError(CarrierErrorType.TRANSIENT, 'fake', 'connection reset');
        }
        sent.push({ req, index: i });
        ids.push(`fake-${req.messageId}-${i}`);
        await hooks?.onPartAcked?.(i, ids[i]!);
      }
      return { carrierMessageIds: ids, parts: 3, encoding: 'GSM7' };
    },
    close: async () => undefined,
  };
  return { adapter, sent, fail: (n: number | undefined) => (failAfterParts = n) };
}

describe('tokenize and dispatch activities on the real Vault and PostgreSQL', () => {
  const db = newDbPool();
  const vault = newVault();
  const tokens = new SubscriberTokens({ vault, db });
  afterAll(() => db.end());

  /** The carrier activities with `adapter` as the one carrier, `fake`. */
  const carrierActivities = (adapter: CarrierAdapter, breaker?: CircuitBreaker) =>
    fakeCarrierActivities({ db, vault }, adapter, breaker);

  const tokenize = (to: string, body: string) =>
    tokenizeNew(createVaultActivities({ vault, db, log: silentLog, tokens }).tokenizeMessage, {
      tenant: 'activities-test',
      purpose: 'otp',
      recipientHint: '+44••••••••56',
      segments: 3,
      acceptedAt: Date.now(),
      to,
      body,
    });

  test('tokenize stores only ciphertext and a stable subscriber token', async () => {
    const a = await tokenize('+447400123456', 'Your code is 111222');
    const b = await tokenize('+447400123456', 'Your code is 333444');
    expect(a.stored).toBe(true);
    const { rows: stored } = await db.query<{ subscriber_token: string }>(
      'select subscriber_token from message_secrets where message_id = any($1)',
      [[a.messageId, b.messageId]],
    );
    expect(stored[0]!.subscriber_token).toBe(stored[1]!.subscriber_token);
    expect(stored[0]!.subscriber_token).toMatch(/^st[1-9]\d*_[A-Za-z0-9_-]{43}$/);
    const { rows } = await db.query(
      'select row_to_json(s)::text as row from message_secrets s where message_id = any($1)',
      [[a.messageId, b.messageId]],
    );
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r.row).not.toContain('7400123456');
      expect(r.row).not.toContain('111222');
    }
  });

  test('after a transit key rotation, messages tokenized before it still decrypt for dispatch', async () => {
    const { messageId } = await tokenize('+447400123457', 'Statement ready: code 909090');
    await rootVault().request('POST', 'transit/keys/sms-global/rotate');
    const fake = recordingAdapter();
    const { submitToCarrier } = carrierActivities(fake.adapter);
    const result: SubmitToCarrierResult = await activityEnv().run(submitToCarrier, {
      messageId,
      carrier: 'fake',
      sender: '+447700900001',
    });
    expect(result.parts).toBe(3);
    expect(fake.sent[0]!.req).toMatchObject({
      to: '+447400123457',
      text: 'Statement ready: code 909090',
      from: '+447700900001',
    });
  });

  test('a retry after a partial failure never resubmits a journaled part', async () => {
    const { messageId } = await tokenize('+447400123458', 'three part message');
    const fake = recordingAdapter(2);
    const { submitToCarrier } = carrierActivities(fake.adapter);
    await expect(
      activityEnv().run(submitToCarrier, { messageId, carrier: 'fake', sender: '+447700900001' }),
    ).rejects.toMatchObject({
      type: 'CARRIER_TRANSIENT',
      nonRetryable: false,
    });
    fake.fail(undefined);
    const result: SubmitToCarrierResult = await activityEnv().run(submitToCarrier, {
      messageId,
      carrier: 'fake',
      sender: '+447700900001',
    });
    expect(fake.sent.map((s) => s.index)).toEqual([0, 1, 2]);
    expect(result.carrierMessageIds).toEqual([0, 1, 2].map((i) => `fake-${messageId}-${i}`));
    const { rows } = await db.query(
      'select part_index, attempts from dispatch_journal j join messages m on m.id = j.message_id where message_id = $1 order by 1',
      [messageId],
    );
    expect(rows).toEqual([0, 1, 2].map((i) => ({ part_index: i, attempts: 2 })));
  });

  test('a partial send is visible: the failure lists the acked parts, the message row names the carrier', async () => {
    const { messageId } = await tokenize('+447400123460', 'three part message');
    const fake = recordingAdapter(2);
    const { submitToCarrier } = carrierActivities(fake.adapter);
    const err = (await activityEnv()
      .run(submitToCarrier, { messageId, carrier: 'fake', sender: '+447700900001' })
      .catch((e: unknown) => e)) as ApplicationFailure;
    expect(err.details?.[0]).toEqual({
      commandStatus: null,
      ackedParts: { 0: `fake-${messageId}-0`, 1: `fake-${messageId}-1` },
      parts: 3,
    });
    const { rows } = await db.query(
      `select m.status, m.carrier, m.sender, e.detail from messages m
         join message_events e on e.message_id = m.id and e.status = 'submitted' where m.id = $1`,
      [messageId],
    );
    expect(rows).toEqual([
      { status: 'submitted', carrier: 'fake', sender: '+447700900001', detail: '2 of 3 part(s)' },
    ]);
  });

  test('throttling never opens the circuit breaker; carrier faults do, and then a submit is told to wait', async () => {
    const { messageId } = await tokenize('+447400123461', 'Your code is 111222');
    let answer: CarrierErrorType = CarrierErrorType.THROTTLED;
    let calls = 0;
    const adapter: CarrierAdapter = {
      name: 'fake',
      submit: async () => {
        calls++;
        throw new CarrierError(answer, 'fake', 'refused', { retryAfterMs: 100 });
      },
      close: async () => undefined,
    };
    const { submitToCarrier } = carrierActivities(adapter, new CircuitBreaker(3, 60_000));
    const run = () =>
      activityEnv()
        .run(submitToCarrier, { messageId, carrier: 'fake', sender: '+447700900001' })
        .catch((e: unknown) => e as ApplicationFailure) as Promise<ApplicationFailure>;
    for (let i = 0; i < 6; i++)
      expect(await run()).toMatchObject({ type: 'CARRIER_THROTTLED', nonRetryable: false });
    expect(calls).toBe(6);
    answer = CarrierErrorType.UNAVAILABLE;
    for (let i = 0; i < 3; i++) await run();
    expect(calls).toBe(9);
    const refused = await run();
    expect(calls).toBe(9);
    expect(refused).toMatchObject({ type: 'CARRIER_UNAVAILABLE', nonRetryable: true });
    const details = refused.details?.[0] as { retryAfterMs: number };
    expect(details.retryAfterMs).toBeGreaterThan(50_000);
    // Throttled submits are not failures of the sender number either: nothing counts them as such.
    const { rows } = await db.query(
      `select count(*)::int as n from dispatch_outcomes where message_id = $1 and error_type = 'CARRIER_THROTTLED'`,
      [messageId],
    );
    expect(rows[0].n).toBe(6);
  });

  test('a permanent carrier error is non-retryable and names no personal data', async () => {
    const { messageId } = await tokenize('+447400123459', 'Your code is 424242');
    const adapter: CarrierAdapter = {
      name: 'fake',
      submit: async () => {
        throw new CarrierError(CarrierErrorType.PERMANENT, 'fake', 'invalid destination address', {
          commandStatus: 0x0b,
        });
      },
      close: async () => undefined,
    };
    const { submitToCarrier } = carrierActivities(adapter);
    const err = await activityEnv()
      .run(submitToCarrier, { messageId, carrier: 'fake', sender: '+447700900001' })
      .catch((e: Error) => e);
    expect(err).toMatchObject({ type: 'CARRIER_PERMANENT', nonRetryable: true });
    expect(
      JSON.stringify({ message: (err as Error).message, stack: (err as Error).stack }),
    ).not.toMatch(/7400123459|424242/);
  });
});
