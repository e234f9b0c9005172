import type { ChildProcess } from 'node:child_process';
import { temporal as proto } from '@temporalio/proto';
import { startSmscSimulator, type SmscSimulator } from '../../carriers/simulators/smpp/smsc';
import { loadConfig, type Config } from '../../config/config';
import { createApiKey } from '../../db/api-keys';
import { taskQueueFor } from '../../domain/regions';
import { FINAL_STATUSES } from '../../domain/statuses';
import { purgeSweepWorkflowId } from '../../workflows/retention';
import { testSenderNumbers } from '../../scripts/seed-numbers';
import { eventually } from '../helpers/eventually';
import {
  freePort,
  seedTenant,
  smscCarrier,
  startApiProcess,
  startWorkerProcess,
} from '../helpers/pipeline';
import { newDbPool, newTemporalClient, silentLog, unique } from '../helpers/stack';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

/**
 * Scale-out: two API processes and two workers for the region, each a real process on the real
 * stack, with a real SMPP simulator in this process, keep every invariant one process keeps:
 * - idempotency across API processes: one Idempotency-Key sent to both at once is one message;
 * - the rate caps: the OTP velocity limit (counted by the admitting statement) across both APIs, and
 *   a sender number's rate (slots reserved in PostgreSQL by whichever worker picks) across both workers;
 * - relay leases: an API process killed (SIGKILL) mid-burst with starts leased to it in the outbox
 *   has them started by the other once the leases end; its unanswered requests, retried on the other
 *   with their keys, are one message each;
 * - one submit_sm per part per message: nothing here opens the at-least-once window of
 *   docs/faults.md (no worker dies, the SMSC never drops a connection).
 * No fixed sleeps: every wait is on a condition, with a generous deadline for a busy 2-core machine.
 */
const SETUP_MS = 600_000;
const TEST_MS = 600_000;
const WAIT_MS = 300_000;
const FINAL = new Set<string>(FINAL_STATUSES);

type Api = { name: 'A' | 'B'; base: string; process: ChildProcess };
type Sent = { id: string; to: string; segments: number; status: number };

let smsc: SmscSimulator;
let proxy: TcpProxy;
let config: Config;
let db: ReturnType<typeof newDbPool>;
let apiA: Api;
let apiB: Api;
const workers: ChildProcess[] = [];
/** Every message this file had accepted: its destination (unique to it) and parts. */
const accepted = new Map<string, Sent>();

/** A tenant with a sender key (and, with `seedTenant`, fast pools for every purpose). */
async function tenantWithKey(label: string, pools = true) {
  const tenant = unique(label).toLowerCase();
  if (pools) return { tenant, key: (await seedTenant(db, tenant)).apiKey };
  return { tenant, key: (await createApiKey(db, tenant, ['sender'])).secret };
}

/** POST /v1/messages to one API process; throws when no answer comes (the process is gone). */
async function send(
  api: Api,
  key: string,
  body: Record<string, unknown>,
  idempotencyKey?: string,
): Promise<Sent & { type?: string }> {
  const res = await fetch(`${api.base}/v1/messages`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
    },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { id: string; segments: number; type?: string };
  const sent = { id: json.id, to: body.to as string, segments: json.segments, status: res.status };
  if (res.status === 202) accepted.set(sent.id, sent);
  return { ...sent, type: json.type };
}

/** 12 OTPs sent at once, to `<prefix>00` … `<prefix>11`, alternately to API A and API B. */
const otpBurst = (key: string, prefix: string) =>
  Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      send(i % 2 ? apiB : apiA, key, {
        to: `${prefix}${String(i).padStart(2, '0')}`,
        body: `Your code is ${400100 + i}`,
        purpose: 'otp',
      }),
    ),
  );

/** Waits until every id is final (asked of API B, which lives throughout); their statuses. */
async function finalStatuses(key: string, ids: readonly string[]): Promise<string[]> {
  const statuses = new Map<string, string>();
  await eventually(
    `${ids.length} messages to reach a final status`,
    async () => {
      for (const id of ids.filter((i) => !statuses.has(i))) {
        const res = await fetch(`${apiB.base}/v1/messages/${id}`, {
          headers: { authorization: `Bearer ${key}` },
        });
        const { status } = (await res.json()) as { status: string };
        if (FINAL.has(status)) statuses.set(id, status);
      }
      return statuses.size === ids.length ? true : undefined;
    },
    WAIT_MS,
  );
  return ids.map((id) => statuses.get(id)!);
}

/** The parts the SMSC accepted, per destination: how many times each part index came. */
function partsByDestination(): Map<string, number[]> {
  const parts = new Map<string, number[]>();
  for (const r of smsc.received.filter((x) => x.commandStatus === 0)) {
    const counts = parts.get(r.destination) ?? [];
    const index = r.udh ? r.udh.seq - 1 : 0;
    counts[index] = (counts[index] ?? 0) + 1;
    parts.set(r.destination, counts);
  }
  return parts;
}

/** An API process on a port of its own; `temporal` is the Temporal address it uses. */
async function startApi(name: Api['name'], temporal: string): Promise<Api> {
  const port = await freePort();
  const child = startApiProcess(
    { config },
    {
      API_HOST: '127.0.0.1',
      API_PORT: String(port),
      API_METRICS_PORT: '0',
      TEMPORAL_ADDRESS: temporal,
      // One key sends every burst here; test/e2e/security.test.ts checks the limiter itself.
      API_RATE_LIMIT_MAX: '1000000',
      // One velocity window for the whole file, so a burst never straddles two.
      OTP_VELOCITY_WINDOW_SECONDS: '3600',
    },
  );
  const base = `http://127.0.0.1:${port}`;
  await eventually(
    `API ${name} to be ready`,
    async () => {
      if (child.exitCode !== null) throw new Error(`API ${name} exited (${child.exitCode})`);
      return (await fetch(`${base}/readyz`).catch(() => undefined))?.ok || undefined;
    },
    SETUP_MS,
  );
  return { name, base, process: child };
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once('exit', () => resolve()));

beforeAll(async () => {
  smsc = await startSmscSimulator({ port: 0, log: silentLog, systemId: 'sms', password: 'sms' });
  config = loadConfig({
    ...process.env,
    TASK_QUEUE_PREFIX: `${unique('scale').toLowerCase()}-`,
    CARRIERS: JSON.stringify([smscCarrier(smsc)]),
  });
  db = newDbPool();
  // API A reaches Temporal through a proxy the lease test silences.
  const [host, port] = config.temporal.address.split(':');
  proxy = await startTcpProxy(host!, Number(port));
  [apiA, apiB] = await Promise.all([
    startApi('A', proxy.address),
    startApi('B', config.temporal.address),
  ]);
  for (let i = 0; i < 2; i++)
    workers.push(
      startWorkerProcess(
        { config },
        {
          // Two workers of one region on one host: metrics on ports of their own, no SDK exporter.
          WORKER_METRICS_PORT: '0',
          TEMPORAL_SDK_METRICS_ADDRESS: '',
          API_PUBLIC_URL: apiB.base,
        },
      ),
    );
  const taskQueue = taskQueueFor('global', config.temporal.taskQueuePrefix);
  await eventually(
    'both workers to poll the global region',
    async () => {
      for (const w of workers) if (w.exitCode !== null) throw new Error('a worker exited');
      const { rows } = await db.query<{ n: number }>(
        `select count(*)::int as n from worker_heartbeats
          where task_queue = $1 and stopped_at is null and identity like any($2)`,
        [taskQueue, workers.map((w) => `sms-worker-global/${w.pid}@%`)],
      );
      return rows[0]!.n === 2 || undefined;
    },
    SETUP_MS,
  );
}, SETUP_MS);

afterAll(async () => {
  const children = [apiA?.process, apiB?.process, ...workers].filter(
    (c): c is ChildProcess => c !== undefined,
  );
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map(exited));
  const temporal = await newTemporalClient();
  await temporal.workflow
    .getHandle(purgeSweepWorkflowId('global', config.temporal.taskQueuePrefix))
    .terminate('test finished')
    .catch(() => undefined);
  await temporal.connection.close();
  await proxy?.close();
  await smsc?.close();
  await db?.end();
}, WAIT_MS);

test(
  'one Idempotency-Key sent to both API processes at once is one message, sent once',
  async () => {
    const { key } = await tenantWithKey('idem');
    const answers = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const body = { to: `+4474011000${i}0`, body: `Your code is ${300100 + i}`, purpose: 'otp' };
        const both = await Promise.all(
          [apiA, apiB].map((api) => send(api, key, body, `idem-${i}`)),
        );
        // The same request again, to the other process, after both answered.
        const again = await send(apiB, key, body, `idem-${i}`);
        // The same key with another request: refused, whichever process is asked.
        const other = await send(apiA, key, { ...body, body: 'Your code is 999999' }, `idem-${i}`);
        return { both, again, other };
      }),
    );
    for (const { both, again, other } of answers) {
      expect(both.map((s) => s.status)).toEqual([202, 202]);
      expect(new Set([...both, again].map((s) => s.id)).size).toBe(1);
      expect(other.status).toBe(409);
    }
    const ids = answers.map((a) => a.both[0]!.id);
    expect(await finalStatuses(key, ids)).toEqual(ids.map(() => 'delivered'));
    const parts = partsByDestination();
    for (const { both } of answers) expect(parts.get(both[0]!.to)).toEqual([1]);
  },
  TEST_MS,
);

test(
  'the rate caps hold across processes: the OTP velocity limit across both APIs, a sender number’s rate across both workers',
  async () => {
    // Velocity: 5 OTPs to GB per window, `refuse` above it; 12 sent at once, split over both APIs.
    const velocity = await tenantWithKey('velo');
    await db.query(
      `insert into country_rules (tenant, country, action, otp_per_window, over_limit) values ($1, 'GB', 'allow', 5, 'refuse')`,
      [velocity.tenant],
    );
    const burst = await otpBurst(velocity.key, '+4474012000');
    const ok = burst.filter((s) => s.status === 202);
    const refused = burst.filter((s) => s.status !== 202);
    expect(refused.map((s) => [s.status, s.type])).toEqual(
      refused.map(() => [429, 'urn:problem:velocity-limit-reached']),
    );
    const { rows: windows } = await db.query<{ count: number }>(
      'select count from otp_velocity where tenant = $1',
      [velocity.tenant],
    );
    // Counted once per accepted OTP, never above the limit in any window.
    expect(windows.reduce((n, w) => n + w.count, 0)).toBe(ok.length);
    for (const w of windows) expect(w.count).toBeLessThanOrEqual(5);
    // And the limit was reached: 12 OTPs fill at least one window.
    expect(ok.length).toBeGreaterThanOrEqual(5);

    // A sender number's rate: one number at 4/s; 12 messages sent at once, split over both APIs and
    // picked by either worker. Each pick reserves the number's next slot (db/sender-pick.ts) and
    // the workflow waits for it, so the k-th submit from that number (k = 0, 1, …) cannot reach the
    // SMSC before the first slot + k × 250 ms, and the first slot is no earlier than the burst.
    const RATE = 4;
    const rated = await tenantWithKey('rate', false);
    const pool = `pool_${rated.tenant}`;
    await db.query(
      `insert into number_pools (id, tenant, name, country, purpose, strategy) values ($1, $2, 'one', null, 'otp', 'lru')`,
      [pool, rated.tenant],
    );
    await db.query(
      'insert into pool_numbers (pool_id, number, rate_per_second) values ($1, $2, $3)',
      [pool, testSenderNumbers('otp')[0], RATE],
    );
    const t0 = Date.now();
    const sent = await otpBurst(rated.key, '+4474013000');
    expect(sent.map((s) => s.status)).toEqual(sent.map(() => 202));
    const ids = sent.map((s) => s.id);
    expect(await finalStatuses(rated.key, ids)).toEqual(ids.map(() => 'delivered'));
    const destinations = new Set(sent.map((s) => s.to));
    const submits = smsc.received
      .filter((r) => destinations.has(r.destination) && r.commandStatus === 0)
      .map((r) => r.receivedAt)
      .sort((a, b) => a - b);
    expect(submits).toHaveLength(12);
    // Slots are whole microseconds, the workflow's notBefore whole milliseconds (floored): 1 ms slack.
    const early = submits.filter((at, k) => at < t0 + (k * 1000) / RATE - 1);
    expect(early).toEqual([]);
    // Every pick took a slot: the number's next free slot is at least 12 slots past the burst.
    const { rows } = await db.query<{ next: number }>(
      'select extract(epoch from next_available_at) * 1000 as next from pool_numbers where pool_id = $1',
      [pool],
    );
    expect(Number(rows[0]!.next)).toBeGreaterThanOrEqual(t0 + (12 * 1000) / RATE - 1);
  },
  TEST_MS,
);

test(
  'API A killed mid-burst with starts leased to it: API B starts them once the leases end, and retried requests are one message each',
  async () => {
    const { key } = await tenantWithKey('kill');
    // A's connection to Temporal goes silent: its relay leases what A accepts, then waits forever.
    proxy.hold();
    const byA = new Set<string>();
    let killed = false;
    let afterKill = 0;
    let next = 0;
    const burst: Sent[] = [];
    const sendOne = async (i: number) => {
      const body = {
        to: `+4474014${String(i).padStart(5, '0')}`,
        // Every third message is long: three parts, each of which must reach the SMSC once.
        body:
          i % 3 === 0
            ? `Statement ${i}: ${'your monthly statement is ready to view in the app. '.repeat(7)}`
            : `Your code is ${600100 + i}`,
        purpose: i % 3 === 0 ? 'transactional' : 'otp',
      };
      const target = i % 2 === 0 && !killed ? apiA : apiB;
      // No answer (the process died with the request): the client retries on B with the same key.
      const s =
        (await send(target, key, body, `kill-${i}`).catch(() => undefined)) ??
        (await send(apiB, key, body, `kill-${i}`));
      expect(s.status).toBe(202);
      if (target === apiA && !killed) byA.add(s.id);
      burst.push(s);
      if (killed) afterKill++;
    };
    // Four clients send until ten messages have been answered after the kill.
    const clients = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (!killed || afterKill < 10) {
          if (next >= 2_000) throw new Error('no start was ever leased to API A');
          await sendOne(next++);
        }
      }),
    );
    // Awaited below; a failure meanwhile is not an unhandled rejection.
    clients.catch(() => undefined);
    const leased = await eventually('starts leased to API A', async () => {
      const { rows } = await db.query<{ id: string; leaseUntil: Date }>(
        `select message_id as id, lease_until as "leaseUntil" from workflow_starts
          where message_id = any($1) and attempts >= 1 and lease_until > now()`,
        [[...byA]],
      );
      return rows.length > 0 ? rows : undefined;
    });
    apiA.process.kill('SIGKILL');
    killed = true;
    await exited(apiA.process);
    await clients;

    const ids = [...new Set(burst.map((s) => s.id))];
    expect(ids).toHaveLength(new Set(burst.map((s) => s.to)).size);
    expect(await finalStatuses(key, ids)).toEqual(ids.map(() => 'delivered'));
    const { rows: waiting } = await db.query(
      'select message_id from workflow_starts where message_id = any($1)',
      [ids],
    );
    expect(waiting).toEqual([]);

    // The starts A held were made by B (the starter's identity is its pid), and at least one of them
    // only once its lease had ended: the lease kept B off it while A might still start it.
    const temporal = await newTemporalClient();
    try {
      const starts = await Promise.all(
        leased.map(async ({ id, leaseUntil }) => {
          const { events } = await temporal.workflow.getHandle(id).fetchHistory();
          const started = events![0]!;
          expect(started.eventType).toBe(
            proto.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
          );
          const at = Number(started.eventTime!.seconds) * 1000 + started.eventTime!.nanos! / 1e6;
          return {
            identity: started.workflowExecutionStartedEventAttributes!.identity,
            afterLease: at >= leaseUntil.getTime(),
          };
        }),
      );
      for (const s of starts) expect(s.identity).toMatch(new RegExp(`^${apiB.process.pid}@`));
      expect(starts.filter((s) => s.afterLease).length).toBeGreaterThan(0);
    } finally {
      await temporal.connection.close();
    }
    process.stderr.write(
      `scale-out: ${burst.length} answers (${byA.size} by A before the kill), ${leased.length} starts leased to A at the kill\n`,
    );
  },
  TEST_MS,
);

test('the SMSC saw exactly one submit_sm per part of every accepted message', async () => {
  const parts = partsByDestination();
  const expected = [...accepted.values()].map((s) => [s.to, Array(s.segments).fill(1)]);
  expect(expected.length).toBeGreaterThan(0);
  expect([...accepted.values()].map((s) => [s.to, parts.get(s.to)])).toEqual(expected);
  // Nothing else reached it.
  expect(parts.size).toBe(new Set([...accepted.values()].map((s) => s.to)).size);
});
