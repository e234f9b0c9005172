import type { Client } from '@temporalio/client';
import { scanForLeaks } from '../../scripts/leak-scan';
import { createApiKey } from '../../scripts/keys';
import { callWithKey } from '../helpers/api';
import { startPipeline, type Pipeline } from '../helpers/pipeline';
import { newTemporalClient } from '../helpers/stack';

/** Velocity windows in this file: long enough that a held message is visibly held. */
const WINDOW_SECONDS = 8;

const GB = (i: number) => `+4474009${String(i).padStart(5, '0')}`;
/** A valid mobile number of `country`, the i-th. */
const mobile = (country: string, i: number) => {
  const prefix = {
    DE: '+4915112',
    AT: '+43664',
    NL: '+316',
    ES: '+346',
    PT: '+35191',
    BE: '+32470',
  }[country]!;
  const length = { DE: 14, AT: 13, NL: 12, ES: 12, PT: 13, BE: 12 }[country]!;
  return prefix + String(i).padStart(length - prefix.length, '0');
};
const FR = '+33612345678';
const IT = '+393123456789';
/** 2 GSM-7 segments. */
const TWO_SEGMENTS = 'Your order 42 has shipped and will arrive tomorrow between 9:00 and 17:00. '
  .repeat(3)
  .trim();

describe('sending policy: dry runs, country rules, velocity, prices and spend caps', () => {
  let p: Pipeline;
  let operatorKey: string;
  let temporal: Client;

  const call = (
    key: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown; headers: Headers }> =>
    callWithKey(p.base, key, method, path, body);
  const send = async (body: Record<string, unknown>) => {
    const res = await p.send(body);
    return { status: res.status, json: (await res.json()) as Record<string, unknown>, res };
  };
  const usage = async () =>
    (await call(p.apiKey, 'GET', '/v1/usage')).json as {
      spent: number;
      monthlyCap: number | null;
      messages: number;
      released: number;
      byCountry: { country: string; messages: number; spent: number; unpriced: number }[];
    };
  const workflowsOfTenant = async () => {
    const ids: string[] = [];
    for await (const w of temporal.workflow.list({ query: `Tenant = '${p.tenant}'` }))
      ids.push(w.workflowId);
    return ids;
  };

  /**
   * Runs `fn` for the first country, again for the next one while a run spans two velocity
   * windows (then its counts would not be those of one window); each country is fresh.
   */
  async function inOneWindow<T>(
    countries: readonly string[],
    fn: (country: string) => Promise<T>,
  ): Promise<{ country: string; results: T }> {
    const windowOf = () => Math.floor(Date.now() / (WINDOW_SECONDS * 1000));
    for (const country of countries) {
      const before = windowOf();
      const results = await fn(country);
      if (windowOf() === before) return { country, results };
    }
    throw new Error(`every run spanned two ${WINDOW_SECONDS}-second windows`);
  }

  beforeAll(async () => {
    p = await startPipeline({ env: { OTP_VELOCITY_WINDOW_SECONDS: String(WINDOW_SECONDS) } });
    operatorKey = (await createApiKey(p.db, p.tenant, ['operator'])).secret;
    temporal = await newTemporalClient();
    // The tenant's rate card: smsc-a to GB at 0.035 per segment (no price for other countries).
    const put = await call(operatorKey, 'PUT', '/v1/prices/smsc-a/GB', { perSegment: 0.035 });
    expect(put.status).toBe(200);
  });
  afterAll(async () => {
    await temporal?.connection.close();
    await p?.close();
  });

  test('prices are set by operators only and listed for senders', async () => {
    const denied = await call(p.adminKey, 'PUT', '/v1/prices/smsc-a/GB', { perSegment: 0 });
    expect(denied.status).toBe(403);
    const list = await call(p.apiKey, 'GET', '/v1/prices');
    expect(list.json).toEqual(
      expect.arrayContaining([
        { carrier: 'smsc-a', country: 'GB', perSegment: 0.035, scope: 'tenant' },
      ]),
    );
  });

  test('a dry run returns route and price, and leaves no row, counter, reservation or workflow', async () => {
    const { rows: slotsBefore } = await p.db.query(
      `select n.id, n.next_available_at, n.last_used_at from pool_numbers n join number_pools p on p.id = n.pool_id
        where p.tenant = $1 order by n.id`,
      [p.tenant],
    );
    const to = GB(1);
    const res = await send({ to, body: TWO_SEGMENTS, purpose: 'otp', dryRun: true });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      dryRun: true,
      decision: 'accept',
      countryRule: 'allow',
      country: 'GB',
      region: 'global',
      encoding: 'GSM7',
      segments: 2,
      route: {
        pool: `pool_${p.tenant}_otp`,
        strategy: 'lru',
        carrier: 'smsc-a',
        carriers: ['smsc-a'],
      },
      price: { perSegment: 0.035, total: 0.07 },
      spend: { spent: 0, cap: null },
    });
    expect((res.json.route as { sender: string }).sender).toMatch(/^\+4470000000\d3$/);
    expect(JSON.stringify(res.json)).not.toContain(to.slice(1));

    // Nothing stored: no message, secret, charge or velocity row, no sender slot taken, no workflow.
    for (const table of ['messages', 'message_charges', 'otp_velocity', 'tenant_spend']) {
      const { rows } = await p.db.query(
        `select count(*)::int as n from ${table} where tenant = $1`,
        [p.tenant],
      );
      expect({ table, n: rows[0].n }).toEqual({ table, n: 0 });
    }
    const { rows: secrets } = await p.db.query(
      `select count(*)::int as n from message_secrets s join messages m on m.id = s.message_id where m.tenant = $1`,
      [p.tenant],
    );
    expect(secrets[0].n).toBe(0);
    const { rows: slotsAfter } = await p.db.query(
      `select n.id, n.next_available_at, n.last_used_at from pool_numbers n join number_pools p on p.id = n.pool_id
        where p.tenant = $1 order by n.id`,
      [p.tenant],
    );
    expect(slotsAfter).toEqual(slotsBefore);
    expect(await workflowsOfTenant()).toEqual([]);
    // And the number is nowhere: not in Temporal (raw), not in any database column.
    const findings = await scanForLeaks({
      needles: [to],
      temporal: { client: temporal, query: `Tenant = '${p.tenant}'` },
      db: p.db,
    });
    expect(findings).toEqual([]);
  });

  test('a blocked country is refused with 422 country-blocked, dry run included', async () => {
    const rule = await call(p.adminKey, 'PUT', '/v1/policy/countries/FR', { action: 'block' });
    expect(rule.status).toBe(200);
    for (const dryRun of [false, true]) {
      const res = await send({ to: FR, body: 'Your code is 123456', purpose: 'otp', dryRun });
      expect(res.status).toBe(422);
      expect(res.res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(res.json).toMatchObject({
        type: 'urn:problem:country-blocked',
        title: 'Country blocked',
        status: 422,
      });
      expect(String(res.json.detail)).not.toContain('612345678');
    }
    expect((await call(p.apiKey, 'GET', '/v1/policy/countries')).status).toBe(403);
    expect((await call(p.adminKey, 'GET', '/v1/policy/countries')).json).toEqual([
      { country: 'FR', action: 'block', otpPerWindow: null, overLimit: 'refuse' },
    ]);
  });

  test('maxPrice: above the price is refused (422 price-above-maxprice), at the price accepted', async () => {
    const refused = await send({ to: GB(2), body: TWO_SEGMENTS, purpose: 'otp', maxPrice: 0.05 });
    expect(refused.status).toBe(422);
    expect(refused.json).toMatchObject({ type: 'urn:problem:price-above-maxprice', status: 422 });
    const accepted = await send({ to: GB(3), body: TWO_SEGMENTS, purpose: 'otp', maxPrice: 0.07 });
    expect(accepted.status).toBe(202);
    expect(accepted.json).toMatchObject({ segments: 2, price: 0.07 });
    const final = await p.waitFinal([accepted.json.id as string]);
    expect(final.get(accepted.json.id as string)).toMatchObject({
      status: 'delivered',
      price: 0.07,
    });
    // No price for Italy: a maxPrice cannot be honoured.
    const unknown = await send({ to: IT, body: 'hello', purpose: 'transactional', maxPrice: 1 });
    expect(unknown.status).toBe(422);
    expect(unknown.json).toMatchObject({ type: 'urn:problem:price-unknown' });
  });

  test('OTP velocity, refuse mode: over the limit is 429 velocity-limit-reached with Retry-After', async () => {
    const { country, results } = await inOneWindow(['DE', 'AT', 'NL'], async (country) => {
      await call(p.adminKey, 'PUT', `/v1/policy/countries/${country}`, {
        action: 'monitor',
        otpPerWindow: 2,
        overLimit: 'refuse',
      });
      const out = [];
      for (let i = 0; i < 3; i++)
        out.push(await send({ to: mobile(country, i), body: 'Code 4711', purpose: 'otp' }));
      return out;
    });
    expect(results.map((r) => r.status)).toEqual([202, 202, 429]);
    expect(results[2]!.json).toMatchObject({
      type: 'urn:problem:velocity-limit-reached',
      status: 429,
    });
    const retryAfter = Number(results[2]!.res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS);
    // Only OTPs count: a transactional message to the same country still goes.
    const tx = await send({
      to: mobile(country, 99),
      body: 'Your parcel is on its way',
      purpose: 'transactional',
    });
    expect(tx.status).toBe(202);
    const ids = [
      results[0]!.json.id as string,
      results[1]!.json.id as string,
      tx.json.id as string,
    ];
    const final = await p.waitFinal(ids);
    expect([...final.values()].map((m) => m.status)).toEqual([
      'delivered',
      'delivered',
      'delivered',
    ]);
    // `monitor` sends, and usage counts the messages as monitored (no price known: unpriced).
    expect((await usage()).byCountry.find((c) => c.country === country)).toMatchObject({
      messages: 3,
      unpriced: 3,
      monitored: 3,
      spent: 0,
    });
  });

  test('OTP velocity, hold mode: over the limit is held (status and search attribute), then sent', async () => {
    const { results: sent } = await inOneWindow(['ES', 'PT', 'BE'], async (country) => {
      await call(p.adminKey, 'PUT', `/v1/policy/countries/${country}`, {
        action: 'allow',
        otpPerWindow: 1,
        overLimit: 'hold',
      });
      const out = [];
      for (let i = 0; i < 3; i++)
        out.push(await send({ to: mobile(country, i), body: 'Code 8080', purpose: 'otp' }));
      return out;
    });
    expect(sent.map((r) => r.status)).toEqual([202, 202, 202]);
    const ids = sent.map((r) => r.json.id as string);
    const final = await p.waitFinal(ids);
    expect([...final.values()].map((m) => m.status)).toEqual([
      'delivered',
      'delivered',
      'delivered',
    ]);

    const { rows } = await p.db.query<{ id: string; held_until: Date | null; submitted_at: Date }>(
      `select c.message_id as id, c.held_until, m.submitted_at from message_charges c join messages m on m.id = c.message_id
        where c.message_id = any($1)`,
      [ids],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(ids[0]!)!.held_until).toBeNull();
    const held = [ids[1]!, ids[2]!];
    for (const id of held) {
      const r = byId.get(id)!;
      expect(r.held_until).not.toBeNull();
      // Never sent before its window opened.
      expect(r.submitted_at.getTime()).toBeGreaterThanOrEqual(r.held_until!.getTime());
      const history = (final.get(id)!.history as { status: string }[]).map((e) => e.status);
      expect(history).toEqual(expect.arrayContaining(['held', 'submitted', 'delivered']));
      expect(history.indexOf('held')).toBeLessThan(history.indexOf('submitted'));
      // The MessageStatus search attribute was set to `held` (read raw from the history).
      const events = (await temporal.workflow.getHandle(id).fetchHistory()).events ?? [];
      const statuses = events
        .map(
          (e) =>
            e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields
              ?.MessageStatus?.data,
        )
        .filter((d): d is Uint8Array => !!d)
        .map((d) => JSON.parse(Buffer.from(d).toString('utf8')) as string);
      expect(statuses).toContain('held');
    }
    // Two windows apart: the third waited for the window after the second's.
    expect(byId.get(ids[2]!)!.held_until!.getTime()).toBeGreaterThan(
      byId.get(ids[1]!)!.held_until!.getTime(),
    );
  });

  test('a message that never reaches a carrier gives its reservation back', async () => {
    const before = await usage();
    // A sender that is not in any of the tenant's pools: the workflow fails before any submit.
    const res = await send({ to: GB(10), body: 'hello', purpose: 'otp', sender: '+449999999999' });
    expect(res.status).toBe(202);
    expect(res.json.price).toBe(0.035);
    const final = await p.waitFinal([res.json.id as string]);
    expect(final.get(res.json.id as string)!.status).toBe('failed');
    const after = await usage();
    expect(after.spent).toBeCloseTo(before.spent, 6);
    expect(after.released).toBe(before.released + 1);
    const { rows } = await p.db.query('select state from message_charges where message_id = $1', [
      res.json.id,
    ]);
    expect(rows[0].state).toBe('released');
  });

  test('the spend cap holds under concurrent sends: 422 spend-cap-reached, and usage shows the spend', async () => {
    const before = await usage();
    // Room for exactly 4 one-segment GB messages at 0.035.
    const cap = Math.round((before.spent + 4 * 0.035) * 1e6) / 1e6;
    const put = await call(p.adminKey, 'PUT', '/v1/policy/spend-cap', { monthlyCap: cap });
    expect(put.json).toEqual({ monthlyCap: cap });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        send({ to: GB(100 + i), body: 'Alert', purpose: 'transactional' }),
      ),
    );
    const accepted = results.filter((r) => r.status === 202);
    const refused = results.filter((r) => r.status !== 202);
    expect(accepted).toHaveLength(4);
    expect(refused.map((r) => r.status)).toEqual([422, 422, 422, 422, 422, 422]);
    for (const r of refused)
      expect(r.json).toMatchObject({
        type: 'urn:problem:spend-cap-reached',
        title: 'Spend cap reached',
      });
    // A dry run says the same, and a message without a known price cannot pass a cap either.
    expect(
      (await send({ to: GB(200), body: 'x', purpose: 'otp', dryRun: true })).json,
    ).toMatchObject({
      type: 'urn:problem:spend-cap-reached',
    });
    expect((await send({ to: IT, body: 'x', purpose: 'otp' })).json).toMatchObject({
      type: 'urn:problem:price-unknown',
    });

    await p.waitFinal(accepted.map((r) => r.json.id as string));
    const after = await usage();
    expect(after.spent).toBeCloseTo(cap, 6);
    expect(after.monthlyCap).toBe(cap);
    expect(after.byCountry.find((c) => c.country === 'GB')).toMatchObject({
      messages: (before.byCountry.find((c) => c.country === 'GB')?.messages ?? 0) + 4,
    });
    // No workflow was started for a refused send: one workflow per admitted message, no more.
    const { rows } = await p.db.query<{ id: string }>(
      'select message_id as id from message_charges where tenant = $1 order by 1',
      [p.tenant],
    );
    const admitted = rows.map((r) => r.id).sort();
    for (const r of accepted) expect(admitted).toContain(r.json.id);
    let started: string[] = [];
    for (let i = 0; i < 100 && started.length < admitted.length; i++) {
      started = (await workflowsOfTenant()).sort();
      if (started.length < admitted.length) await new Promise((r) => setTimeout(r, 200));
    }
    expect(started).toEqual(admitted);
  });
});
