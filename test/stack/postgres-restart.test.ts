import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startSmscSimulator, type SmscSimulator } from '../../carriers/simulators/smpp/smsc';
import { createDbPool } from '../../clients/db';
import type { CarrierConfig } from '../../config/config';
import { createApiKey } from '../../scripts/keys';
import { SEEDED_PURPOSES, testSenderNumbers } from '../../scripts/seed-numbers';
import { purgeSweepWorkflowId } from '../../workflows/retention';
import { eventually } from '../helpers/eventually';
import { freePort, smscCarrier } from '../helpers/pipeline';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres';
import { config, newTemporalClient, silentLog, stack, unique } from '../helpers/stack';

/**
 * PostgreSQL restarted under a running API process and worker process (spawned as `npm start` runs
 * them, from source with tsx), with a burst of messages in flight and more arriving throughout. A
 * private PostgreSQL (initdb in a temporary folder, its own port): the shared one is never touched.
 * Both processes must stay alive; while the database is away POST /v1/messages answers 503 with
 * Retry-After (never 500) and /readyz names postgres; once it is back the config cache listens again,
 * and every accepted message is delivered, each submitted at most twice (the documented at-least-once
 * window: one part per message).
 */
describe('PostgreSQL restarted under a running API and worker', () => {
  let pg: PrivatePostgres;
  let smsc: SmscSimulator;
  let db: ReturnType<typeof createDbPool>;
  const children: { name: string; child: ChildProcess; output: string[] }[] = [];
  const prefix = `${unique('pgrestart').toLowerCase()}-`;
  let base: string;
  let key: string;

  /** A process of the app, as `npm start` runs it, against the private database. */
  function startProcess(name: string, entry: string, env: Record<string, string>) {
    const child = spawn(process.execPath, ['--import', 'tsx', join(stack.rootDir, entry)], {
      cwd: stack.rootDir,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    const keep = (d: Buffer) => {
      output.push(d.toString());
      if (output.length > 400) output.shift();
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    children.push({ name, child, output });
    return { child, output };
  }
  const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

  beforeAll(async () => {
    pg = await startPrivatePostgres();
    db = createDbPool({ ...config.database, url: pg.url }, 'sms-test');
    const tenant = unique('pgrestart').toLowerCase();
    key = (await createApiKey(db, tenant, ['sender'])).secret;
    for (const purpose of SEEDED_PURPOSES) {
      const pool = `pool_${tenant}_${purpose}`;
      await db.query(
        `insert into number_pools (id, tenant, name, country, purpose, strategy) values ($1, $2, $3, null, $4, 'lru')`,
        [pool, tenant, `default-${purpose}`, purpose],
      );
      for (const number of testSenderNumbers(purpose))
        await db.query(
          `insert into pool_numbers (pool_id, number, rate_per_second) values ($1, $2, 1000)`,
          [pool, number],
        );
    }
    smsc = await startSmscSimulator({ port: 0, log: silentLog, systemId: 'sms', password: 'sms' });
    const carriers: CarrierConfig[] = [smscCarrier(smsc)];
    const apiPort = await freePort();
    base = `http://127.0.0.1:${apiPort}`;
    const env = {
      DATABASE_URL: pg.url,
      TASK_QUEUE_PREFIX: prefix,
      CARRIERS: JSON.stringify(carriers),
      LOG_LEVEL: 'warn',
      WORKER_METRICS_PORT: '0',
      API_METRICS_PORT: '0',
      RECEIPT_TIMEOUT_SECONDS: '120',
      API_HOST: '127.0.0.1',
      API_PORT: String(apiPort),
      API_PUBLIC_URL: base,
      API_RATE_LIMIT_MAX: '1000000',
    };
    startProcess('worker', 'processes/worker.ts', env);
    startProcess('api', 'processes/api.ts', env);
    await eventually('the API to be ready', async () =>
      (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined,
    );
  });

  afterAll(async () => {
    for (const { child } of children) if (alive(child)) child.kill('SIGTERM');
    await Promise.all(
      children.map(({ child }) =>
        alive(child) ? new Promise((r) => child.once('exit', r)) : undefined,
      ),
    );
    const temporal = await newTemporalClient();
    await temporal.workflow
      .getHandle(purgeSweepWorkflowId('global', prefix))
      .terminate('test finished')
      .catch(() => undefined);
    await temporal.connection.close();
    await smsc?.close();
    await db?.end();
    pg?.destroy();
  });

  let sequence = 0;
  /** One POST to a number of its own; the answer's status, Retry-After and (on 202) id. */
  async function send(): Promise<{ status: number; retryAfter: string | null; id?: string }> {
    const to = `+447400${String(++sequence).padStart(6, '0')}`;
    const res = await fetch(`${base}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to, body: `Your code is ${100000 + sequence}`, purpose: 'otp' }),
    });
    const body = (await res.json()) as { id?: string };
    return { status: res.status, retryAfter: res.headers.get('retry-after'), id: body.id };
  }

  const statusesOf = async (ids: string[]) =>
    (
      await db.query<{ id: string; status: string }>(
        'select id, status from messages where id = any($1)',
        [ids],
      )
    ).rows;

  test('both processes stay up, POST answers 503 while it is down, every accepted message is delivered', async () => {
    const accepted: string[] = [];
    const answers: { status: number; retryAfter: string | null }[] = [];
    const record = (a: Awaited<ReturnType<typeof send>>) => {
      answers.push(a);
      if (a.status === 202 && a.id) accepted.push(a.id);
      return a;
    };

    // Warm up: the worker polls, both pools hold sessions.
    const warm = await Promise.all(Array.from({ length: 10 }, () => send().then(record)));
    if (warm.some((a) => a.status !== 202))
      process.stderr.write(children.map((c) => `${c.name}:\n${c.output.join('')}`).join('\n'));
    expect(warm.map((a) => a.status)).toEqual(Array(10).fill(202));
    await eventually('the warm-up to be delivered', async () => {
      const rows = await statusesOf(accepted);
      return rows.length === 10 && rows.every((r) => r.status === 'delivered') ? true : undefined;
    });
    // The worker and the API each hold an idle session: the restart ends it under them.
    const admin = await db.query<{ app: string }>(
      `select distinct application_name as app from pg_stat_activity
        where state = 'idle' and application_name in ('sms-api', 'sms-worker-global')`,
    );
    expect(admin.rows.map((r) => r.app).sort()).toEqual(['sms-api', 'sms-worker-global']);
    // The API's config cache listens for changes on a session of its own (db/config-cache.ts).
    const listening = async () =>
      (
        await db.query(
          `select 1 from pg_stat_activity where application_name = 'sms-api-config-listener'`,
        )
      ).rowCount === 1
        ? true
        : undefined;
    await eventually('the config cache to listen', listening);

    // Traffic throughout: two clients sending one message after another until told to stop; like a
    // polite client, each waits a second after a refusal (Retry-After says 5 s, longer than the outage).
    // Status 0: the API did not answer at all.
    let sending = true;
    const client = async () => {
      while (sending) {
        const a = record(await send().catch(() => ({ status: 0, retryAfter: null })));
        if (a.status !== 202) await new Promise((r) => setTimeout(r, 1_000));
      }
    };

    async function restartUnderTraffic() {
      // A burst in flight when the server goes.
      const burst = await Promise.all(Array.from({ length: 30 }, () => send().then(record)));
      expect(burst.every((a) => a.status === 202)).toBe(true);

      pg.stop();
      const whileDown = await eventually(
        'POST to answer 503 while PostgreSQL is down',
        async () => {
          const a = record(await send());
          return a.status === 503 ? a : undefined;
        },
      );
      expect(whileDown.retryAfter).toMatch(/^[1-9][0-9]*$/);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { down: string[] }).down).toContain('postgres');
      for (const { name, child } of children) expect([name, alive(child)]).toEqual([name, true]);

      pg.start();
      await eventually('the API to be ready again', async () =>
        (await fetch(`${base}/readyz`)).status === 200 ? true : undefined,
      );
      // The config cache listens again by itself.
      await eventually('the config cache to listen again', listening);
      const acceptedBefore = accepted.length;
      await eventually('a message to be accepted after the restart', async () =>
        accepted.length > acceptedBefore ? true : undefined,
      );
    }
    const traffic = [client(), client()];
    try {
      await restartUnderTraffic();
    } finally {
      sending = false;
      await Promise.all(traffic);
    }

    // Never a 500, nor anything else: accepted, or "come back later" with Retry-After.
    const unexpected = answers.filter(
      (a) => a.status !== 202 && !(a.status === 503 && a.retryAfter),
    );
    expect(unexpected).toEqual([]);

    const final = await eventually(
      `all ${accepted.length} accepted messages to be delivered`,
      async () => {
        const rows = await statusesOf(accepted);
        return rows.length === accepted.length && rows.every((r) => r.status === 'delivered')
          ? rows
          : undefined;
      },
      300_000,
    );
    expect(final.length).toBe(accepted.length);
    for (const { name, child, output } of children)
      expect([name, alive(child), alive(child) ? '' : output.join('')]).toEqual([name, true, '']);

    // Submits per message: at least one accepted, at most one more (a part on the wire at the restart).
    const submits = new Map<string, number>();
    for (const r of smsc.received.filter((x) => x.commandStatus === 0))
      submits.set(r.destination, (submits.get(r.destination) ?? 0) + 1);
    const counts = [...submits.values()];
    expect(submits.size).toBe(accepted.length);
    expect(counts.filter((n) => n > 2)).toEqual([]);
    process.stderr.write(
      `postgres-restart: ${accepted.length} accepted, ${answers.filter((a) => a.status === 503).length} answered 503, ` +
        `${counts.filter((n) => n === 2).length} submitted twice\n`,
    );
  }, 600_000);
});
