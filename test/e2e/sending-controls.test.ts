/**
 * Sending controls through the API on the real stack: scheduled sends (dispatched after their time,
 * cancellable), validity (expired, never sent late; SMPP validity_period), the test numbers, smart
 * encoding, and failover on a failed receipt.
 */
import { parseRelativeValidity } from '../../carriers/smpp/fields';
import { createLogger } from '../../config/logger';
import { DELAYED_RECEIPT_MS, TEST_NUMBERS, TestNumberBehaviour } from '../../domain/test-numbers';
import { needleVariants, scanForLeaks } from '../../scripts/leak-scan';
import { startPipeline, type Pipeline } from '../helpers/pipeline';
import { newTemporalClient } from '../helpers/stack';

interface Accepted {
  id: string;
  status: string;
  segments: number;
  encoding: string;
  sendAt?: string;
  expiresAt?: string;
  segmentsSaved?: number;
}
interface Message {
  status: string;
  reason?: string | null;
  carrier?: string | null;
  attempts: number;
  createdAt: string;
  history: { status: string; at: string; carrier?: string | null; detail?: string | null }[];
}

const run = String(Date.now() % 10000).padStart(4, '0');
const to = (i: number) => `+447400${run}${String(i).padStart(2, '0')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('sending controls, end to end', () => {
  let p: Pipeline;
  const lines: string[] = [];

  beforeAll(async () => {
    const capture = { write: (s: string) => void lines.push(s) };
    p = await startPipeline({
      smscCount: 2,
      log: createLogger('sending-controls-e2e', 'info', capture),
      env: { RECEIPT_FAILOVER_ERROR_CODES: '012,0x45', RECEIPT_FAILOVER_MAX_REDISPATCHES: '1' },
    });
    // Warm up (Vault login, codec data key, SMPP binds), so the 3 s of the first test go to the wait.
    const warm = await p.send({ to: to(0), body: 'warm-up', purpose: 'transactional' });
    await p.waitFinal([((await warm.json()) as { id: string }).id]);
  });
  afterAll(async () => p?.close());

  const send = async (body: Record<string, unknown>): Promise<Accepted> => {
    const res = await p.send(body);
    const json = (await res.json()) as Accepted;
    expect({ status: res.status, json }).toMatchObject({ status: 202 });
    return json;
  };
  const get = (id: string) => p.get(id) as unknown as Promise<Message>;
  const final = async (id: string, timeoutMs?: number) =>
    (await p.waitFinal([id], timeoutMs)).get(id) as unknown as Message;
  const partsTo = (dest: string) =>
    p.smscs.flatMap((s) => s.received.filter((r) => r.destination === dest));
  async function waitForStatus(id: string, status: string) {
    for (let i = 0; i < 240; i++) {
      if ((await get(id)).status === status) return;
      await sleep(250);
    }
    throw new Error(`message never reached ${status}`);
  }

  test('a message scheduled 3 s ahead is dispatched after its time, and its data stays encrypted meanwhile', async () => {
    const dest = to(1);
    const code = `${run}71`;
    const sendAt = new Date(Date.now() + 3000).toISOString();
    const accepted = await send({
      to: dest,
      body: `Your code is ${code}`,
      purpose: 'otp',
      sendAt,
    });
    expect(accepted.sendAt).toBe(sendAt);
    const m = await final(accepted.id);
    expect(m.status).toBe('delivered');
    const parts = partsTo(dest);
    expect(parts).toHaveLength(1);
    expect(parts[0]!.receivedAt).toBeGreaterThanOrEqual(Date.parse(sendAt));
    // (That the message waits in `scheduled` is shown by the next test and, for 30 days, by the
    // time-skipping workflow test; here the 3 s may already be spent by a slow machine.)

    // Nothing plaintext about it in Temporal, PostgreSQL or the logs.
    const plain = await newTemporalClient();
    const findings = await scanForLeaks({
      needles: [...needleVariants(dest), `is ${code}`],
      logLines: lines,
      temporal: { client: plain, query: `WorkflowId = '${accepted.id}'` },
      db: p.db,
    });
    await plain.connection.close();
    expect(findings).toEqual([]);
  });

  test('a scheduled message cancelled in time is never sent', async () => {
    const dest = to(2);
    const accepted = await send({
      to: dest,
      body: 'Your order ships tomorrow',
      purpose: 'transactional',
      sendAt: new Date(Date.now() + 120_000).toISOString(),
    });
    await waitForStatus(accepted.id, 'scheduled');
    const cancel = await fetch(`${p.base}/v1/messages/${accepted.id}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${p.apiKey}` },
    });
    expect(cancel.status).toBe(202);
    const m = await final(accepted.id);
    expect(m).toMatchObject({ status: 'cancelled', reason: 'cancelled_by_client' });
    expect(partsTo(dest)).toEqual([]);
  });

  test('bad sendAt and validitySeconds get a 400 naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ sendAt: 'tomorrow' }, 'sendAt'],
      [{ sendAt: '2026-12-01T09:00:00' }, 'sendAt'],
      [{ sendAt: new Date(Date.now() - 3_600_000).toISOString() }, 'sendAt'],
      [{ sendAt: new Date(Date.now() + 36 * 86_400_000).toISOString() }, 'sendAt'],
      [{ validitySeconds: 0 }, 'validitySeconds'],
      [{ validitySeconds: 259_201 }, 'validitySeconds'],
      [{ smartEncoding: 'yes' }, 'smartEncoding'],
    ];
    for (const [extra, field] of cases) {
      const res = await p.send({ to: to(3), body: 'hi', purpose: 'otp', ...extra });
      const problem = (await res.json()) as { fields?: string[] };
      expect({ field, status: res.status }).toEqual({ field, status: 400 });
      expect(problem.fields).toContain(field);
    }
  });

  test('an OTP with a 2 s validity behind a throttled carrier ends expired and is never sent', async () => {
    const dest = to(4);
    for (const s of p.smscs) s.setBehaviour({ throttle: true });
    let m: Message;
    try {
      const accepted = await send({
        to: dest,
        body: `Your code is ${run}44`,
        purpose: 'otp',
        validitySeconds: 2,
      });
      m = await final(accepted.id);
    } finally {
      for (const s of p.smscs) s.setBehaviour({ throttle: false });
    }
    expect(m).toMatchObject({ status: 'expired', reason: 'validity_elapsed' });
    // A late submit would show itself before a message sent afterwards, with the carriers answering
    // again, has gone all the way through: wait for that marker instead of a fixed time.
    const marker = await send({ to: to(11), body: 'marker', purpose: 'otp' });
    expect(await final(marker.id)).toMatchObject({ status: 'delivered' });
    const deadline = Date.parse(m.createdAt) + 2000;
    const parts = partsTo(dest);
    expect(parts.filter((r) => r.commandStatus === 0)).toEqual([]);
    for (const r of parts) expect(r.receivedAt).toBeLessThan(deadline);
    for (const s of p.smscs) expect(s.messages().map((x) => x.destination)).not.toContain(dest);
  });

  test('the validity goes to SMPP as validity_period: the time left, the purpose default when not given', async () => {
    const a = await send({ to: to(5), body: 'Your code is 1234', purpose: 'otp' });
    const b = await send({
      to: to(6),
      body: 'Sale ends Sunday',
      purpose: 'marketing',
      validitySeconds: 600,
    });
    expect(Date.parse(a.expiresAt!)).toBeGreaterThan(Date.now());
    await p.waitFinal([a.id, b.id]);
    const [pa] = partsTo(to(5));
    const [pb] = partsTo(to(6));
    const va = parseRelativeValidity(pa!.validityPeriod)!;
    const vb = parseRelativeValidity(pb!.validityPeriod)!;
    expect(va).toBeGreaterThan(0);
    expect(va).toBeLessThanOrEqual(300);
    expect(vb).toBeGreaterThan(300);
    expect(vb).toBeLessThanOrEqual(600);
  });

  test('each test number behaves as documented and never reaches a carrier', async () => {
    const byBehaviour = Object.fromEntries(
      Object.entries(TEST_NUMBERS).map(([number, behaviour]) => [behaviour, number]),
    ) as Record<TestNumberBehaviour, string>;
    const ids = {} as Record<TestNumberBehaviour, string>;
    for (const [behaviour, number] of Object.entries(byBehaviour))
      ids[behaviour as TestNumberBehaviour] = (
        await send({ to: number, body: 'Your code is 123456', purpose: 'otp' })
      ).id;
    const done = await p.waitFinal(Object.values(ids), 180_000);
    const of = (b: TestNumberBehaviour) => done.get(ids[b]) as unknown as Message;

    expect(of(TestNumberBehaviour.SUCCESS)).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(of(TestNumberBehaviour.TRANSIENT_FAILURE)).toMatchObject({
      status: 'delivered',
      attempts: 2,
    });
    expect(of(TestNumberBehaviour.PERMANENT_FAILURE)).toMatchObject({
      status: 'failed',
      reason: 'CARRIER_PERMANENT',
    });
    expect(of(TestNumberBehaviour.OPTED_OUT)).toMatchObject({
      status: 'suppressed',
      reason: 'opted_out',
    });
    const delayed = of(TestNumberBehaviour.DELAYED_RECEIPT);
    expect(delayed.status).toBe('delivered');
    const at = (s: string) => Date.parse(delayed.history.find((h) => h.status === s)!.at);
    // The receipt timer starts just before the submit is recorded: allow a second of slack.
    expect(at('delivered') - at('submitted')).toBeGreaterThanOrEqual(DELAYED_RECEIPT_MS - 1000);

    for (const number of Object.keys(TEST_NUMBERS)) expect(partsTo(number)).toEqual([]);
  });

  test('smart encoding replaces look-alikes and says how many segments it saved', async () => {
    const dest = to(7);
    const body = `Your order “A-17” ships today — track it at our site. ${'Thanks for shopping with us… '.repeat(3)}`;
    const plain = await send({ to: to(8), body, purpose: 'transactional' });
    const smart = await send({ to: dest, body, purpose: 'transactional', smartEncoding: true });
    expect(plain).toMatchObject({ encoding: 'UCS2', segments: 3 });
    expect(smart).toMatchObject({ encoding: 'GSM7', segments: 1, segmentsSaved: 2 });
    await p.waitFinal([plain.id, smart.id]);
    const [got] = p.smscs[0]!.messages().filter((m) => m.destination === dest);
    expect(got).toMatchObject({ encoding: 'GSM7', parts: 1 });
    expect(got!.text).toContain('"A-17" ships today - track');
  });

  test('a receipt with a routable failure code leads to a second dispatch through the next carrier, same message id', async () => {
    const [primary, secondary] = p.smscs;
    const routable = to(9);
    const other = to(10);
    primary!.setBehaviour({
      receiptOutcome: (d) => (d === routable || d === other ? 'UNDELIV' : 'DELIVRD'),
      receiptErrorCode: (d) => (d === routable ? '012' : '001'),
    });
    try {
      const a = await send({ to: routable, body: 'Your code is 555123', purpose: 'otp' });
      const b = await send({ to: other, body: 'Your code is 555124', purpose: 'otp' });
      const done = await p.waitFinal([a.id, b.id]);
      const ma = done.get(a.id) as unknown as Message;
      const mb = done.get(b.id) as unknown as Message;

      expect(ma).toMatchObject({ status: 'delivered', carrier: 'smsc-b' });
      expect(ma.history.map((h) => [h.status, h.carrier ?? null])).toEqual([
        ['accepted', null],
        ['tokenized', null],
        ['submitted', 'smsc-a'],
        ['routed', 'smsc-a'],
        ['submitted', 'smsc-b'],
        ['delivered', 'smsc-b'],
      ]);
      expect(ma.history.find((h) => h.status === 'routed')!.detail).toBe(
        'failover after undeliverable:012',
      );
      expect(primary!.messages().filter((m) => m.destination === routable)).toHaveLength(1);
      expect(secondary!.messages().filter((m) => m.destination === routable)).toHaveLength(1);

      // A code not configured as routable ends undelivered on the first carrier.
      expect(mb).toMatchObject({ status: 'undelivered', reason: 'undeliverable:001' });
      expect(secondary!.messages().filter((m) => m.destination === other)).toEqual([]);
    } finally {
      primary!.setBehaviour({ receiptOutcome: () => 'DELIVRD', receiptErrorCode: () => '001' });
    }
  });
});
