import { METRIC_NAMES } from '../../clients/metrics';
import { needleVariants, scanForLeaks } from '../../scripts/leak-scan';
import { startPipeline, type Pipeline } from '../helpers/pipeline';

/** The value of one sample of `name` whose labels include every one of `labels` (0 if absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

const scrape = async (url: string) => {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
};

const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs = 90_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
};

describe('operations: metrics on the API and the workers, region-pinned personal data', () => {
  let p: Pipeline;
  const cn = '+8613812345678';
  const de = '+4915112345678';
  const gb = '+447400555123';
  const failing = '+447400555987';
  const throttled = '+447400555444';
  const ids: Record<string, string> = {};
  const worker = (region: string) =>
    p.workers.find((w) => w.identity.startsWith(`sms-worker-${region}/`))!;

  const send = async (to: string, purpose = 'otp') => {
    const res = await p.send({ to, body: 'Your code is 424242', purpose });
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  };

  beforeAll(async () => {
    p = await startPipeline({ smscCount: 2 });
    const [primary] = p.smscs;
    // smsc-a refuses one destination for good: that message fails over to smsc-b.
    primary!.setBehaviour({ permanentErrorFor: (d) => d === failing });
    for (const [name, to] of Object.entries({ cn, de, gb, failing })) ids[name] = await send(to);
    const final = await p.waitFinal(Object.values(ids));
    expect([...final.values()].map((m) => m.status)).toEqual(Array(4).fill('delivered'));
    primary!.setBehaviour({ permanentErrorFor: () => false });

    // A throttling carrier makes the submit retry; it stops throttling once the retry is counted.
    primary!.setBehaviour({ throttle: true });
    ids.throttled = await send(throttled, 'transactional');
    const global = worker('global');
    await waitFor(
      'a counted retry',
      async () => sample(await scrape(global.metricsUrl), METRIC_NAMES.retries) > 0,
    );
    primary!.setBehaviour({ throttle: false });
    await p.waitFinal([ids.throttled]);
  }, 240_000);
  afterAll(async () => p?.close());

  test('the API exposes accepted messages by country, purpose and region, and the review queue', async () => {
    const text = await scrape(p.metricsUrl);
    expect(sample(text, METRIC_NAMES.accepted, { country: 'CN', region: 'cn' })).toBe(1);
    expect(sample(text, METRIC_NAMES.accepted, { country: 'DE', region: 'eu' })).toBe(1);
    expect(
      sample(text, METRIC_NAMES.accepted, { country: 'GB', purpose: 'otp', region: 'global' }),
    ).toBe(2);
    expect(sample(text, METRIC_NAMES.accepted, { purpose: 'transactional' })).toBe(1);
    expect(text).toMatch(new RegExp(`^${METRIC_NAMES.reviewDepth}\\{[^}]*\\} \\d+$`, 'm'));
    expect(text).toMatch(new RegExp(`^${METRIC_NAMES.reviewAge}\\{[^}]*\\} [\\d.]+$`, 'm'));
    expect(sample(text, `${METRIC_NAMES.dbSeconds}_count`)).toBeGreaterThan(0);
    // The configuration cache listens, and answered the repeated key and policy reads of the sends.
    expect(sample(text, METRIC_NAMES.configCacheListening)).toBe(1);
    expect(sample(text, METRIC_NAMES.configCacheReads, { result: 'hit' })).toBeGreaterThan(0);
    expect(sample(text, METRIC_NAMES.configCacheReads, { result: 'miss' })).toBeGreaterThan(0);
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    // No tenant, key or personal value in any label.
    expect(text).not.toContain(p.tenant);
    for (const n of [cn, de, gb, failing, throttled])
      for (const v of needleVariants(n)) expect(text).not.toContain(v);
  });

  test("a worker's /metrics has dispatch, delivery, latency, retry, failover, Vault, database and the SDK's series", async () => {
    const text = await scrape(worker('global').metricsUrl);
    const gbOtp = { carrier: 'smsc-a', country: 'GB', purpose: 'otp' };
    expect(sample(text, METRIC_NAMES.dispatched, gbOtp)).toBe(1);
    expect(
      sample(text, METRIC_NAMES.dispatched, { carrier: 'smsc-b', country: 'GB', purpose: 'otp' }),
    ).toBe(1);
    expect(sample(text, METRIC_NAMES.delivered, { country: 'GB', purpose: 'otp' })).toBe(2);
    expect(sample(text, METRIC_NAMES.delivered, { purpose: 'transactional' })).toBe(1);
    expect(text).toContain(`# TYPE ${METRIC_NAMES.failed} counter`);
    expect(
      sample(text, METRIC_NAMES.failovers, { carrier: 'smsc-a', reason: 'CARRIER_PERMANENT' }),
    ).toBe(1);
    expect(sample(text, METRIC_NAMES.retries, { carrier: 'smsc-a' })).toBeGreaterThan(0);
    expect(
      sample(text, `${METRIC_NAMES.dispatchSeconds}_count`, { carrier: 'smsc-a', outcome: 'ok' }),
    ).toBeGreaterThan(0);
    expect(sample(text, `${METRIC_NAMES.receiptSeconds}_count`, { status: 'delivered' })).toBe(3);
    expect(sample(text, `${METRIC_NAMES.vaultSeconds}_count`, { outcome: 'ok' })).toBeGreaterThan(
      0,
    );
    // Subscriber tokens are a transit HMAC per message (numbers and bodies are sealed with cached data keys).
    expect(
      sample(text, `${METRIC_NAMES.vaultSeconds}_count`, { operation: 'transit/hmac' }),
    ).toBeGreaterThan(0);
    expect(sample(text, `${METRIC_NAMES.dbSeconds}_count`, { outcome: 'ok' })).toBeGreaterThan(0);
    // The Temporal SDK's own exporter, served through the same endpoint.
    expect(text).toMatch(/^temporal_[a-z_]+/m);
    expect(text).not.toContain(p.tenant);
    for (const n of [gb, failing, throttled])
      for (const v of needleVariants(n)) expect(text).not.toContain(v);
  });

  test("a +86 message's personal-data activities ran on the cn worker only, an EU message's on the eu worker only", async () => {
    const cnWorker = worker('cn');
    const euWorker = worker('eu');
    // Evidence 1: the audit rows the activities wrote name the worker that ran them.
    const { rows } = await p.db.query<{ subject: string; action: string; worker: string }>(
      `select subject, action, detail->>'worker' as worker from audit_log
        where subject = any($1) and action in ('message.accepted', 'message.decrypt')
        order by seq`,
      [[ids.cn, ids.de]],
    );
    const ran = (id: string) => rows.filter((r) => r.subject === id);
    expect(ran(ids.cn!).map((r) => [r.action, r.worker])).toEqual([
      ['message.accepted', cnWorker.identity],
      ['message.decrypt', cnWorker.identity],
    ]);
    expect(ran(ids.de!).map((r) => [r.action, r.worker])).toEqual([
      ['message.accepted', euWorker.identity],
      ['message.decrypt', euWorker.identity],
    ]);
    // Evidence 2: each worker's own activity counters.
    const count = async (region: string, activity: string) =>
      sample(await scrape(worker(region).metricsUrl), METRIC_NAMES.activities, {
        activity,
        outcome: 'ok',
      });
    for (const activity of ['tokenizeMessage', 'submitToCarrier']) {
      expect(await count('cn', activity)).toBe(1);
      expect(await count('eu', activity)).toBe(1);
      // The global worker handled the three GB messages only.
      expect(await count('global', activity)).toBe(3);
    }
    // Evidence 3: the ciphertexts are under the region's transit key.
    const keys = await p.db.query<{ message_id: string; transit_key: string }>(
      `select message_id, transit_key from message_secrets where message_id = any($1)`,
      [[ids.cn, ids.de, ids.gb]],
    );
    expect(Object.fromEntries(keys.rows.map((r) => [r.message_id, r.transit_key]))).toEqual({
      [ids.cn!]: 'sms-cn',
      [ids.de!]: 'sms-eu',
      [ids.gb!]: 'sms-global',
    });
  });

  test('nothing personal in the tables this feature writes', async () => {
    const findings = await scanForLeaks({
      needles: [cn, de, gb, failing, throttled].flatMap(needleVariants),
      db: p.db,
    });
    expect(findings).toEqual([]);
  });
});
