/**
 * Carrier faults with a burst in flight, through the API, on the real stack: an SMPP simulator of
 * this test's own on a free port, and workers of its own (in this process, and a worker process
 * for the crash). Every accepted id is checked at the end, and so is the count of submits per part
 * against docs/faults.md, "Delivery guarantee": a part is accepted by the SMSC once, or twice only
 * when it was on the wire, unacknowledged, when the connection or the worker died (one such part
 * per message at most).
 */
import type { ChildProcess } from 'node:child_process';
import type { ReceivedPart, SmscSimulator } from '../../carriers/simulators/smpp/smsc';
import { createAnomalyActivities } from '../../activities/anomaly/detect-anomalies';
import { eventually } from '../helpers/eventually';
import { startPipeline, startWorkerProcess, type Pipeline } from '../helpers/pipeline';
import { silentLog, unique } from '../helpers/stack';

/** How long the SMSC is down in the outage case (a real outage: its listener and sessions are gone). */
const OUTAGE_MS = 20_000;

const THREE_PARTS = 'your monthly statement is ready to view in the app. '.repeat(7); // 364 chars: 3 GSM-7 parts

interface Burst {
  ids: string[];
  /** Destination → message id (one destination per message). */
  byDestination: Map<string, string>;
  /** Message id → its parts. */
  parts: Map<string, number>;
}

/** Accepts `n` messages through the API; odd ones three-part when `mixed`, all three-part when `allLong`. */
async function sendBurst(
  p: Pipeline,
  n: number,
  tag: string,
  shape: 'mixed' | 'long',
  burst: Burst = { ids: [], byDestination: new Map(), parts: new Map() },
): Promise<Burst> {
  for (let i = 0; i < n; i++) {
    const long = shape === 'long' || i % 2 === 1;
    // UK mobile numbers outside the test-number range, one per message.
    const to = `+44740${tag}${String(burst.ids.length).padStart(5, '0')}`;
    const res = await p.send({
      to,
      body: long ? `Statement ${i}: ${THREE_PARTS}` : `Your code is ${300000 + i}`,
      purpose: long ? 'transactional' : 'otp',
    });
    expect(res.status).toBe(202);
    const { id, segments } = (await res.json()) as { id: string; segments: number };
    expect(segments).toBe(long ? 3 : 1);
    burst.ids.push(id);
    burst.byDestination.set(to, id);
    burst.parts.set(id, segments);
  }
  return burst;
}

/** Accepted submits per (message, part index) for the burst's destinations. */
function acceptedPerPart(smsc: SmscSimulator, burst: Burst): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of smsc.received.filter((x: ReceivedPart) => x.commandStatus === 0)) {
    const id = burst.byDestination.get(r.destination);
    if (!id) continue;
    const k = `${id}#${r.udh ? r.udh.seq - 1 : 0}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

/**
 * Every part of every message was accepted at least once; at most `maxRepeatedPerMessage` parts of a
 * message twice, none more often. Returns how many parts were accepted twice.
 */
function expectSubmitsWithinWindow(
  smsc: SmscSimulator,
  burst: Burst,
  maxRepeatedPerMessage: number,
): number {
  const counts = acceptedPerPart(smsc, burst);
  let repeated = 0;
  for (const id of burst.ids) {
    const perPart = Array.from(
      { length: burst.parts.get(id)! },
      (_, i) => counts.get(`${id}#${i}`) ?? 0,
    );
    expect({ id, missing: perPart.filter((n) => n === 0).length }).toEqual({ id, missing: 0 });
    expect(Math.max(...perPart)).toBeLessThanOrEqual(2);
    const twice = perPart.filter((n) => n === 2).length;
    expect({ id, twice: Math.min(twice, maxRepeatedPerMessage) }).toEqual({ id, twice });
    repeated += twice;
  }
  return repeated;
}

/** Every id `delivered`, with its carrier and every part reported. */
async function expectAllDelivered(p: Pipeline, burst: Burst, timeoutMs: number): Promise<void> {
  const final = await p.waitFinal(burst.ids, timeoutMs);
  const statuses = new Map<string, number>();
  for (const m of final.values()) statuses.set(m.status, (statuses.get(m.status) ?? 0) + 1);
  expect(Object.fromEntries(statuses)).toEqual({ delivered: burst.ids.length });
  // The journal is the source of truth: every receipt in it ends marked as signalled.
  await eventually(
    'every journaled receipt to be signalled',
    async () => {
      const { rows } = await p.db.query<{ n: number }>(
        `select count(*)::int as n from dispatch_journal
        where message_id = any($1) and receipt_status is not null and receipt_signalled_at is null`,
        [burst.ids],
      );
      return rows[0]!.n === 0 ? true : undefined;
    },
    60_000,
  );
  for (const id of burst.ids.slice(0, 10)) {
    const m = (await p.get(id)) as { carrier?: string; submittedParts?: number; segments?: number };
    expect({ carrier: m.carrier, parts: m.submittedParts }).toEqual({
      carrier: 'smsc-a',
      parts: m.segments,
    });
  }
}

/**
 * Runs the anomaly detector over the case's window (a detector of its own, so fresh baselines) and
 * checks that none of the tenant's sender numbers was quarantined or alerted on.
 */
async function expectNoNumberQuarantined(p: Pipeline, windowSeconds: number): Promise<void> {
  const { detectAnomalies } = createAnomalyActivities({ db: p.db, log: silentLog });
  const detector = unique('carrier-faults');
  const result = await detectAnomalies({ detector, firstWindowSeconds: windowSeconds });
  expect(
    result.alerts.filter(
      (a) => a.kind === 'sender_failure' && a.subject.startsWith(`${p.tenant}/`),
    ),
  ).toEqual([]);
  const { rows } = await p.db.query(
    `select n.number from pool_numbers n join number_pools p on p.id = n.pool_id
      where p.tenant = $1 and n.status <> 'active'`,
    [p.tenant],
  );
  expect(rows).toEqual([]);
}

const journaledParts = async (p: Pipeline, ids: string[]) =>
  (
    await p.db.query<{ n: number }>(
      'select count(*)::int as n from dispatch_journal where message_id = any($1)',
      [ids],
    )
  ).rows[0]!.n;

describe('carrier faults with a burst in flight (in-process workers)', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ env: { RECEIPT_RECONCILE_INTERVAL_SECONDS: '2' } });
  });
  afterAll(async () => {
    await p?.close();
  });

  test(`SMSC down for ${OUTAGE_MS / 1000} s: every message waits and is delivered after it returns; no number quarantined`, async () => {
    const smsc = p.smscs[0]!;
    const startedAt = Date.now();
    smsc.setBehaviour({ latencyMs: 20 });
    const burst = await sendBurst(p, 30, '01', 'mixed');
    await eventually('the burst to be under way', async () =>
      (await journaledParts(p, burst.ids)) >= 10 ? true : undefined,
    );
    await smsc.suspend();
    const downAt = Date.now();
    // More messages arrive while the SMSC is away.
    await sendBurst(p, 30, '01', 'mixed', burst);
    // The fault's length itself (not a wait for a condition): the SMSC stays away this long.
    await new Promise((r) => setTimeout(r, Math.max(0, downAt + OUTAGE_MS - Date.now())));
    const { rows: ended } = await p.db.query(
      `select status, count(*)::int as n from messages where id = any($1)
        and status in ('failed', 'expired', 'undelivered', 'unconfirmed') group by status`,
      [burst.ids],
    );
    expect(ended).toEqual([]);
    await smsc.resume();

    await expectAllDelivered(p, burst, 240_000);
    const repeated = expectSubmitsWithinWindow(smsc, burst, 1);
    await expectNoNumberQuarantined(p, Math.ceil((Date.now() - startedAt) / 1000) + 5);
    process.stderr.write(
      `carrier-faults outage: ${burst.ids.length} delivered, ${repeated} part(s) on the wire at the outage accepted twice\n`,
    );
  }, 400_000);

  test('every 3rd submit throttled, three-part messages: all delivered, each part accepted once', async () => {
    const smsc = p.smscs[0]!;
    const startedAt = Date.now();
    const before = smsc.received.length;
    smsc.setBehaviour({ latencyMs: 0, throttleEvery: 3 });
    const burst = await sendBurst(p, 24, '02', 'long');
    await expectAllDelivered(p, burst, 180_000);
    smsc.setBehaviour({ throttleEvery: 0 });
    expectSubmitsWithinWindow(smsc, burst, 0);
    const mine = smsc.received.slice(before);
    const throttled = mine.filter((r) => r.commandStatus === 0x58).length;
    // Every third submit really was refused, and the refusals never became failures.
    expect(throttled).toBeGreaterThanOrEqual(Math.floor(mine.length / 3) - 1);
    expect(throttled).toBeGreaterThanOrEqual(24);
    await expectNoNumberQuarantined(p, Math.ceil((Date.now() - startedAt) / 1000) + 5);
  }, 300_000);

  test('a receipt journaled but never signalled (a crash between the two) is signalled by the reconciler', async () => {
    const smsc = p.smscs[0]!;
    smsc.setBehaviour({ dropReceipts: true });
    const burst = await sendBurst(p, 2, '03', 'mixed');
    await eventually('both messages submitted', async () => {
      const { rows } = await p.db.query(
        `select count(*)::int as n from messages where id = any($1) and status = 'submitted'`,
        [burst.ids],
      );
      return rows[0].n === 2 ? true : undefined;
    });
    expect(await journaledParts(p, burst.ids)).toBe(4);
    // Exactly what a crash after the journal write and before the signal leaves behind.
    await p.db.query(
      `update dispatch_journal set receipt_status = 'delivered', receipt_at = now() - interval '10 seconds'
        where message_id = any($1)`,
      [burst.ids],
    );
    smsc.setBehaviour({ dropReceipts: false });
    await expectAllDelivered(p, burst, 60_000);
    const { rows } = await p.db.query(
      `select count(*)::int as n from dispatch_journal where message_id = any($1) and receipt_signalled_at is null`,
      [burst.ids],
    );
    expect(rows[0].n).toBe(0);
  }, 120_000);
});

describe('a worker killed with SIGKILL while receipts arrive', () => {
  let p: Pipeline;
  const workers: ChildProcess[] = [];
  const workerEnv = { RECEIPT_RECONCILE_INTERVAL_SECONDS: '2' };
  beforeAll(async () => {
    // A receipt lost in the crash would leave its message `unconfirmed` after this timeout.
    p = await startPipeline({
      startWorkers: false,
      env: { RECEIPT_TIMEOUT_SECONDS: '150', ...workerEnv },
    });
  });
  afterAll(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await p?.close();
  });

  test('every message reaches delivered, none unconfirmed, and only unjournaled parts are sent twice', async () => {
    const smsc = p.smscs[0]!;
    // Receipts trail their submits, so the kill lands while many arrive.
    smsc.setBehaviour({ latencyMs: 20, receiptDelayMs: 800 });
    const burst = await sendBurst(p, 50, '04', 'mixed');
    const first = startWorkerProcess(p, workerEnv);
    workers.push(first);
    const receipted = async () =>
      (
        await p.db.query<{ n: number }>(
          `select count(*)::int as n from dispatch_journal where message_id = any($1) and receipt_status is not null`,
          [burst.ids],
        )
      ).rows[0]!.n;
    await eventually(
      'receipts to be arriving',
      async () => ((await receipted()) >= 15 ? true : undefined),
      180_000,
    );
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const { rows: atKill } = await p.db.query<{
      message_id: string;
      part_index: number;
      unsignalled: boolean;
    }>(
      `select message_id, part_index, receipt_status is not null and receipt_signalled_at is null as unsignalled
         from dispatch_journal where message_id = any($1)`,
      [burst.ids],
    );
    const { rows: done } = await p.db.query(
      `select count(*)::int as n from messages where id = any($1) and status = 'delivered'`,
      [burst.ids],
    );
    // The kill landed mid-run.
    expect(done[0].n).toBeLessThan(burst.ids.length);

    workers.push(startWorkerProcess(p, workerEnv));
    await expectAllDelivered(p, burst, 360_000);

    expectSubmitsWithinWindow(smsc, burst, 1);
    // A part journaled before the kill is never accepted again.
    const counts = acceptedPerPart(smsc, burst);
    const resentJournaled = atKill.filter(
      (j) => counts.get(`${j.message_id}#${j.part_index}`)! > 1,
    );
    expect(resentJournaled).toEqual([]);
    process.stderr.write(
      `carrier-faults kill: ${atKill.length} parts journaled at the kill, ${atKill.filter((j) => j.unsignalled).length} receipts journaled but not signalled (left to the reconciler)\n`,
    );
  }, 600_000);
});
