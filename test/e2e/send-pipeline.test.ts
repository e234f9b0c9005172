import { createApiKey } from '../../scripts/keys';
import { startPipeline, type Pipeline } from '../helpers/pipeline';
import { seeds } from '../helpers/seeds';

/** Valid mobile numbers in three regions: GB (global), DE (eu), CN (cn). */
const recipient = (i: number) => {
  const n = String(i).padStart(4, '0');
  return [
    `+4474001${n.slice(-5).padStart(5, '0')}`,
    `+4915112${n.padStart(6, '0')}`,
    `+861380013${n}`,
  ][i % 3]!;
};

const LONG_GSM = 'Your parcel 7 is out for delivery today between 9:00 and 17:00. '
  .repeat(6)
  .trim();
const LONG_UCS2 =
  '【菜鸟驿站】您的包裹已到达驿站,请凭取件码及时领取,驿站营业时间为每天九点至二十一点,逾期将退回。'.repeat(
    3,
  );

async function sendAll(p: Pipeline, bodies: { to: string; body: string; purpose: string }[]) {
  const ids: string[] = [];
  for (let i = 0; i < bodies.length; i += 20) {
    const batch = await Promise.all(
      bodies.slice(i, i + 20).map(async (b) => {
        const res = await p.send(b);
        expect(res.status).toBe(202);
        return ((await res.json()) as { id: string }).id;
      }),
    );
    ids.push(...batch);
  }
  return ids;
}

describe('100 messages end to end: API → Temporal → SMPP simulator → receipt', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline();
  });
  afterAll(async () => p?.close());

  test('every message is delivered with the right text, encoding and part count', async () => {
    const messages = [
      ...seeds.map((s, i) => ({ to: recipient(i), body: s.text, purpose: 'otp' })),
      { to: recipient(10), body: LONG_GSM, purpose: 'transactional' },
      { to: recipient(11), body: LONG_UCS2, purpose: 'transactional' },
      ...Array.from({ length: 88 }, (_, k) => ({
        to: recipient(12 + k),
        body:
          k % 2
            ? `Your verification code is ${100000 + k}. It expires in 10 minutes.`
            : `Alert ${k}: your balance is below €20.`,
        purpose: k % 2 ? 'otp' : 'transactional',
      })),
    ];
    expect(messages).toHaveLength(100);
    const ids = await sendAll(p, messages);
    const final = await p.waitFinal(ids, 180_000);
    expect([...final.values()].filter((m) => m.status !== 'delivered')).toEqual([]);

    const received = new Map(p.smscs[0]!.messages().map((m) => [m.destination, m]));
    for (const m of messages) {
      const got = received.get(m.to);
      expect(got).toBeDefined();
      const ucs2 = /[^\x20-\x7e€\n]/.test(m.body);
      const parts = ucs2
        ? m.body.length <= 70
          ? 1
          : Math.ceil(m.body.length / 67)
        : m.body.length <= 160
          ? 1
          : Math.ceil(m.body.length / 153);
      expect({ to: m.to, text: got!.text, encoding: got!.encoding, parts: got!.parts }).toEqual({
        to: m.to,
        text: m.body,
        encoding: ucs2 ? 'UCS2' : 'GSM7',
        parts,
      });
    }
    // Each seed body is UCS-2, and the long ones really were split.
    expect(received.get(recipient(0))!.encoding).toBe('UCS2');
    expect(received.get(recipient(10))!.parts).toBeGreaterThan(1);
    expect(received.get(recipient(11))!.parts).toBeGreaterThan(1);
    expect(p.smscs[0]!.received).toHaveLength(
      [...received.values()].reduce((n, m) => n + m.parts, 0),
    );
  });

  test('GET /v1/messages/:id shows the history and only the last two digits of the recipient', async () => {
    const res = await p.send({ to: '+447400999912', body: 'Your code is 771204', purpose: 'otp' });
    const { id } = (await res.json()) as { id: string };
    await p.waitFinal([id]);
    const raw = await (
      await fetch(`${p.base}/v1/messages/${id}`, {
        headers: { authorization: `Bearer ${p.apiKey}` },
      })
    ).text();
    expect(raw).not.toContain('447400999912');
    expect(raw).not.toContain('771204');
    const m = JSON.parse(raw) as {
      recipient: string;
      history: { status: string }[];
      carrier: string;
      sender: string;
      attempts: number;
      segments: number;
    };
    expect(m.recipient).toBe('+44••••••••12');
    expect(m.history.map((h) => h.status)).toEqual([
      'accepted',
      'tokenized',
      'submitted',
      'delivered',
    ]);
    expect(m).toMatchObject({ carrier: 'smsc-a', attempts: 1, segments: 1 });
    expect(m.sender).toMatch(/^\+4470000000/);
  });

  test('another tenant cannot read the message', async () => {
    const res = await p.send({ to: '+447400999913', body: 'hello', purpose: 'transactional' });
    const { id } = (await res.json()) as { id: string };
    const other = await createApiKey(p.db, `${p.tenant}-other`, ['sender']);
    const got = await fetch(`${p.base}/v1/messages/${id}`, {
      headers: { authorization: `Bearer ${other.secret}` },
    });
    expect(got.status).toBe(404);
    await p.waitFinal([id]);
  });

  test('the same Idempotency-Key twice gives one workflow and one send; a different request under it is 409', async () => {
    const body = { to: '+447400777701', body: 'Your code is 550011', purpose: 'otp' };
    const key = `order-${Date.now()}`;
    const first = await p.send(body, { 'idempotency-key': key });
    const second = await p.send(body, { 'idempotency-key': key });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    const a = (await first.json()) as { id: string };
    const b = (await second.json()) as { id: string };
    expect(b.id).toBe(a.id);
    await p.waitFinal([a.id]);
    const third = await p.send(body, { 'idempotency-key': key });
    expect((await third.json()) as { id: string; status: string }).toMatchObject({
      id: a.id,
      status: 'delivered',
    });
    const conflict = await p.send(
      { ...body, body: 'Your code is 999999' },
      { 'idempotency-key': key },
    );
    expect(conflict.status).toBe(409);
    expect(conflict.headers.get('content-type')).toContain('application/problem+json');
    expect(p.smscs[0]!.messages().filter((m) => m.destination === body.to)).toHaveLength(1);
  });

  test('bad input gets a 400 problem+json naming the field, without echoing the number', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ to: '+44 20 7946 0000', body: 'hi', purpose: 'otp' }, 'to'],
      [{ to: '12345', body: 'hi', purpose: 'otp' }, 'to'],
      [{ to: '+447400123456', body: 'x'.repeat(1600), purpose: 'otp' }, 'body'],
      [{ to: '+447400123456', body: '€'.repeat(800), purpose: 'otp' }, 'body'],
      [{ to: '+447400123456', body: 'hi', purpose: 'spam' }, 'purpose'],
      [{ to: '+447400123456', body: 'hi', purpose: 'otp', extra: 1 }, 'extra'],
      [{ body: 'hi', purpose: 'otp' }, 'to'],
    ];
    for (const [body, field] of cases) {
      const res = await p.send(body);
      const text = await res.text();
      expect({ field, status: res.status }).toEqual({ field, status: 400 });
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect((JSON.parse(text) as { fields: string[] }).fields).toContain(field);
      expect(text).not.toContain('7946');
      expect(text).not.toContain('7400123456');
    }
    const unauth = await fetch(`${p.base}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(unauth.status).toBe(401);
  });
});
