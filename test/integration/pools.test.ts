import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import { ulid } from 'ulid';
import {
  createPool,
  addNumbers,
  quarantineNumber,
  releaseNumber,
  type NewPool,
} from '../../db/pools';
import { createDbPool } from '../../clients/db';
import {
  createPoolActivities,
  PoolErrorType,
  type PickSenderInput,
  type PickSenderResult,
} from '../../activities/pools/pick-sender';
import { config, newDbPool, silentLog, unique } from '../helpers/stack';

describe('pickSender against PostgreSQL', () => {
  let db: Pool;
  let pickSender: (input: PickSenderInput) => Promise<PickSenderResult>;
  const tenants: string[] = [];
  // Each test message's recipient token (the activity reads it by message id; tokenizing is not under test here).
  const subscriberOf = new Map<string, string>();
  const tokens = {
    ofMessage: async (messageId: string) => {
      const token = subscriberOf.get(messageId)!;
      return { current: token, live: [token] };
    },
  };

  beforeAll(() => {
    db = newDbPool();
    ({ pickSender } = createPoolActivities({ db, log: silentLog, tokens }));
  });

  afterAll(async () => {
    await db.query('delete from number_pools where tenant = any($1)', [tenants]);
    await db.end();
  });

  const newTenant = () => {
    const tenant = unique('tenant');
    tenants.push(tenant);
    return tenant;
  };

  /** A pool with its numbers (1 message per second unless given). */
  async function pool(
    tenant: string,
    spec: Partial<NewPool> & { numbers: (string | { number: string; ratePerSecond: number })[] },
  ): Promise<string> {
    const id = `pool_${ulid()}`;
    const { numbers, ...rest } = spec;
    await createPool(db, tenant, id, {
      name: unique('pool'),
      purpose: 'otp',
      strategy: 'lru',
      ...rest,
    });
    await addNumbers(
      db,
      id,
      numbers.map((n) => (typeof n === 'string' ? { number: n } : n)),
    );
    return id;
  }

  const message = (
    tenant: string,
    extra: Partial<PickSenderInput> = {},
    subscriber = `sub_${ulid()}`,
  ): PickSenderInput => {
    const messageId = `msg_${ulid()}`;
    subscriberOf.set(messageId, subscriber);
    return { messageId, tenant, country: 'DE', purpose: 'otp', ...extra };
  };
  /** Another message to the same subscriber. */
  const again = ({ messageId, ...rest }: PickSenderInput): PickSenderInput =>
    message(rest.tenant, rest, subscriberOf.get(messageId));

  async function expectNoSender(input: PickSenderInput) {
    const err: unknown = await pickSender(input).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    const failure = err as ApplicationFailure;
    expect(failure.type).toBe(PoolErrorType.NO_SENDER_AVAILABLE);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).not.toContain(subscriberOf.get(input.messageId));
  }

  test('a geo-matching pool comes before a fallback pool, which serves other countries', async () => {
    const tenant = newTenant();
    const fallback = await pool(tenant, { numbers: ['+15550000001'] }); // older than the DE pool
    const de = await pool(tenant, { country: 'DE', numbers: ['+4915100000001'] });
    await pool(tenant, { country: 'DE', purpose: 'marketing', numbers: ['+4915100000009'] });

    const before = Date.now();
    const toDe = await pickSender(message(tenant, { country: 'de' }));
    expect(toDe).toMatchObject({ poolId: de, sender: '+4915100000001', strategy: 'lru' });
    // A fresh number's first slot is now.
    expect(toDe.notBefore).toBeGreaterThanOrEqual(before - 1000);
    expect(toDe.notBefore).toBeLessThanOrEqual(Date.now() + 1000);

    const toFr = await pickSender(message(tenant, { country: 'FR' }));
    expect(toFr).toMatchObject({ poolId: fallback, sender: '+15550000001' });
  });

  test('a campaign pool serves its campaign first and is ignored for other messages', async () => {
    const tenant = newTenant();
    const general = await pool(tenant, { country: 'DE', numbers: ['+4915100000001'] });
    const spring = await pool(tenant, { campaign: 'spring', numbers: ['SPRING'] });

    expect(await pickSender(message(tenant, { campaign: 'spring' }))).toMatchObject({
      poolId: spring,
      sender: 'SPRING',
    });
    expect(await pickSender(message(tenant))).toMatchObject({ poolId: general });
    expect(await pickSender(message(tenant, { campaign: 'autumn' }))).toMatchObject({
      poolId: general,
    });

    const onlyCampaign = newTenant();
    await pool(onlyCampaign, { campaign: 'spring', numbers: ['SPRING'] });
    await expectNoSender(message(onlyCampaign));
  });

  test('an expired pool is ignored', async () => {
    const tenant = newTenant();
    const expired = new Date(Date.now() - 60_000);
    await pool(tenant, { country: 'DE', expiresAt: expired, numbers: ['+4915100000001'] });
    const live = await pool(tenant, {
      expiresAt: new Date(Date.now() + 3_600_000),
      numbers: ['+15550000001'],
    });
    expect(await pickSender(message(tenant))).toMatchObject({ poolId: live });

    const onlyExpired = newTenant();
    await pool(onlyExpired, { expiresAt: expired, numbers: ['+15550000001'] });
    await expectNoSender(message(onlyExpired));
  });

  test('sticky: a subscriber keeps its number across messages; another subscriber can differ', async () => {
    const tenant = newTenant();
    const id = await pool(tenant, {
      strategy: 'sticky',
      numbers: ['+4915100000001', '+4915100000002', '+4915100000003'],
    });
    const alice = message(tenant);
    const first = await pickSender(alice);
    expect(first).toMatchObject({ poolId: id, strategy: 'sticky' });
    for (let i = 0; i < 3; i++) {
      const next = await pickSender(again(alice));
      expect(next.numberId).toBe(first.numberId);
    }
    // Bob gets the least recently used number, which is not Alice's.
    const bob = message(tenant);
    const bobFirst = await pickSender(bob);
    expect(bobFirst.numberId).not.toBe(first.numberId);
    expect((await pickSender(bob)).numberId).toBe(bobFirst.numberId);
  });

  test('quarantined numbers are skipped, and a sticky subscriber moves off one', async () => {
    const tenant = newTenant();
    const lru = await pool(tenant, { numbers: ['+4915100000001', '+4915100000002'] });
    await quarantineNumber(db, lru, '+4915100000001', 'carrier blocked the sender');
    for (let i = 0; i < 4; i++) {
      expect((await pickSender(message(tenant))).sender).toBe('+4915100000002');
    }

    const stickyTenant = newTenant();
    const sticky = await pool(stickyTenant, {
      strategy: 'sticky',
      numbers: ['+4915100000001', '+4915100000002'],
    });
    const alice = message(stickyTenant);
    const before = await pickSender(alice);
    await quarantineNumber(db, sticky, before.sender, 'spam reports');
    const after = await pickSender(alice);
    expect(after.sender).not.toBe(before.sender);
    // The new assignment holds, also once the old number is back.
    await releaseNumber(db, sticky, before.sender);
    expect((await pickSender(alice)).sender).toBe(after.sender);

    // Every number quarantined: nothing to send with.
    await quarantineNumber(db, sticky, '+4915100000001', 'test');
    await quarantineNumber(db, sticky, '+4915100000002', 'test');
    await expectNoSender(alice);
  });

  test('LRU rotates across the numbers of a pool', async () => {
    const tenant = newTenant();
    await pool(tenant, { numbers: ['+4915100000001', '+4915100000002', '+4915100000003'] });
    const picks: string[] = [];
    for (let i = 0; i < 6; i++) picks.push((await pickSender(message(tenant))).sender);
    expect(new Set(picks.slice(0, 3)).size).toBe(3);
    expect(picks.slice(3)).toEqual(picks.slice(0, 3));
  });

  test('slots on one number are spaced by its rate', async () => {
    const tenant = newTenant();
    await pool(tenant, { numbers: [{ number: '+4915100000001', ratePerSecond: 4 }] });
    const slots: number[] = [];
    for (let i = 0; i < 5; i++) slots.push((await pickSender(message(tenant))).notBefore);
    for (let i = 1; i < slots.length; i++) expect(slots[i]! - slots[i - 1]!).toBe(250);
  });

  test('rate cap under concurrency: 30 pickers over 3 numbers at 1/s never share a slot', async () => {
    const tenant = newTenant();
    await pool(tenant, { numbers: ['+4915100000001', '+4915100000002', '+4915100000003'] });
    const pickers = createDbPool({ ...config.database, poolSize: 30 }, 'sms-test-pickers');
    try {
      // Open the 30 connections first, so the picks really run side by side.
      const clients = await Promise.all(Array.from({ length: 30 }, () => pickers.connect()));
      clients.forEach((c) => c.release());
      const { pickSender: pick } = createPoolActivities({ db: pickers, log: silentLog, tokens });
      const results = await Promise.all(Array.from({ length: 30 }, () => pick(message(tenant))));

      expect(results).toHaveLength(30);
      const byNumber = new Map<string, number[]>();
      for (const r of results)
        byNumber.set(r.sender, [...(byNumber.get(r.sender) ?? []), r.notBefore]);
      expect(byNumber.size).toBe(3);
      for (const slots of byNumber.values()) {
        slots.sort((a, b) => a - b);
        for (let i = 1; i < slots.length; i++) {
          expect(slots[i]! - slots[i - 1]!).toBeGreaterThanOrEqual(1000);
        }
      }
    } finally {
      await pickers.end();
    }
  });

  test('a requested sender must be an active number of an eligible pool', async () => {
    const tenant = newTenant();
    const id = await pool(tenant, {
      strategy: 'sticky',
      numbers: ['+4915100000001', '+4915100000002', 'ACME'],
    });
    await pool(tenant, { purpose: 'marketing', numbers: ['PROMO'] });
    for (let i = 0; i < 2; i++) {
      expect(await pickSender(message(tenant, { requestedSender: 'ACME' }))).toMatchObject({
        poolId: id,
        sender: 'ACME',
      });
    }
    await expectNoSender(message(tenant, { requestedSender: 'PROMO' })); // another purpose
    await expectNoSender(message(tenant, { requestedSender: 'OTHER' }));
    await quarantineNumber(db, id, 'ACME', 'test');
    await expectNoSender(message(tenant, { requestedSender: 'ACME' }));

    const other = newTenant();
    await pool(other, { numbers: ['+4915100000001'] });
    // Another tenant's number is not ours to use.
    await expectNoSender(message(tenant, { requestedSender: 'ACME', tenant: newTenant() }));
  });

  test('NO_SENDER_AVAILABLE when the tenant has no eligible pool', async () => {
    await expectNoSender(message(newTenant()));
    const tenant = newTenant();
    await pool(tenant, { country: 'FR', numbers: ['+33600000001'] });
    await pool(tenant, { numbers: [] });
    await expectNoSender(message(tenant, { country: 'DE' }));
  });
});
