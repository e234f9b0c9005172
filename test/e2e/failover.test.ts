import { startPipeline, type Pipeline } from '../helpers/pipeline';

const to = (i: number) => `+4474002${String(i).padStart(5, '0')}`;

async function sendMany(p: Pipeline, n: number, offset: number) {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const res = await p.send({
        to: to(offset + i),
        body: `Your code is ${300000 + i}`,
        purpose: 'otp',
      });
      expect(res.status).toBe(202);
      return ((await res.json()) as { id: string }).id;
    }),
  );
}

describe('retries and failover across two SMPP carriers', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ smscCount: 2 });
  });
  afterAll(async () => p?.close());

  test('with the primary failing 30% of submits transiently, every message is still delivered', async () => {
    const [primary] = p.smscs;
    primary!.setBehaviour({ transientErrorRate: 0.3 });
    const ids = await sendMany(p, 30, 0);
    const final = await p.waitFinal(ids, 240_000);
    primary!.setBehaviour({ transientErrorRate: 0 });
    expect([...final.values()].map((m) => m.status)).toEqual(Array(30).fill('delivered'));
    // The primary really did refuse some submits, and they were retried.
    expect(primary!.received.filter((r) => r.commandStatus !== 0).length).toBeGreaterThan(0);
    expect([...final.values()].reduce((n, m) => n + (m.attempts as number), 0)).toBeGreaterThan(30);
  }, 300_000);

  test('a permanent error for one destination fails that message over to the second carrier', async () => {
    const [primary, secondary] = p.smscs;
    const dest = to(500);
    primary!.setBehaviour({ permanentErrorFor: (d) => d === dest });
    const [id] = await sendMany(p, 1, 500);
    const final = await p.waitFinal([id!]);
    primary!.setBehaviour({ permanentErrorFor: () => false });
    expect(final.get(id!)).toMatchObject({ status: 'delivered', carrier: 'smsc-b' });
    expect(secondary!.messages().map((m) => m.destination)).toContain(dest);
    expect(primary!.messages().filter((m) => m.destination === dest)).toEqual([]);
  });

  test('with the primary port closed, messages go through the secondary', async () => {
    const [primary, secondary] = p.smscs;
    await primary!.close();
    const ids = await sendMany(p, 10, 600);
    const final = await p.waitFinal(ids);
    expect([...final.values()].map((m) => [m.status, m.carrier])).toEqual(
      Array(10).fill(['delivered', 'smsc-b']),
    );
    for (let i = 0; i < 10; i++)
      expect(secondary!.messages().map((m) => m.destination)).toContain(to(600 + i));
  });
});
