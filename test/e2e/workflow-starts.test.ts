import { temporal as proto } from '@temporalio/proto';
import { StartRelay } from '../../relay/start-relay';
import { createApiKey } from '../../db/api-keys';
import { parseServerTiming } from '../../api/plugins/server-timing';
import { taskQueueFor } from '../../domain/regions';
import { eventually, historiesDeleted } from '../helpers/eventually';
import { startPipeline, type Pipeline } from '../helpers/pipeline';
import { startApi, startApiWithoutTemporal, type TestApi } from '../helpers/api';
import { silentLog, unique } from '../helpers/stack';

const PHONE = '+447400765432';
/**
 * Deadlines are generous and only bound a wait on a condition: on a loaded machine (another stack
 * busy, two cores shared) bundling the workflows and starting the workers alone can take a minute.
 */
const SETUP_MS = 300_000;
const TEST_MS = 480_000;
const WAIT_MS = 180_000;
const CODE = '739184';

/**
 * The outbox of POST /v1/messages (table workflow_starts, relay/start-relay.ts): a 202 means the
 * message is in PostgreSQL with its workflow start, whether or not Temporal answered in time.
 */
describe('workflow starts: accepted in PostgreSQL, started by the relay', () => {
  let p: Pipeline;
  beforeAll(async () => {
    // The pipeline's relay polls only once an hour here: in this file it starts what it is told to.
    p = await startPipeline({ env: { WORKFLOW_START_POLL_MS: '3600000' } });
  }, SETUP_MS);
  afterAll(async () => p?.close());

  const pendingRow = async (id: string) =>
    (
      await p.db.query<{ args: Buffer; attempts: number; last_error: string | null }>(
        'select args, attempts, last_error from workflow_starts where message_id = $1',
        [id],
      )
    ).rows[0];

  test(
    'a send accepted while Temporal is unreachable waits encrypted, answers GET as accepted, and is delivered once Temporal is back',
    async () => {
      // A second API process whose Temporal is unreachable (nothing listens on its port; no gRPC retries).
      const { app: down, close } = await startApiWithoutTemporal(p.db, {
        TASK_QUEUE_PREFIX: p.config.temporal.taskQueuePrefix,
        CARRIERS: JSON.stringify(p.config.carriers),
      });
      try {
        const res = await down.inject({
          method: 'POST',
          url: '/v1/messages',
          headers: { authorization: `Bearer ${p.apiKey}` },
          payload: { to: PHONE, body: `Your code is ${CODE}`, purpose: 'otp' },
        });
        expect(res.statusCode).toBe(202);
        expect(res.json()).toMatchObject({ status: 'accepted' });
        const timing = parseServerTiming(res.headers['server-timing'] as string);
        expect(Object.keys(timing)).toEqual(
          expect.arrayContaining(['auth', 'policy', 'admit', 'total']),
        );
        const { id } = res.json() as { id: string };

        // The relay of the process that accepted it tried, failed, and kept it.
        await down.startRelay.drain();
        const row = await pendingRow(id);
        expect(row).toMatchObject({ attempts: 1, last_error: expect.any(String) });
        expect(row!.last_error).not.toContain(PHONE.slice(1));
        // The start arguments are stored encrypted: no digit run of the number, no code.
        const stored = row!.args.toString('latin1');
        expect(stored).not.toContain('7400765432');
        expect(stored).not.toContain(CODE);
        expect(stored).toContain('binary/encrypted');

        // Operators see it waiting.
        const metrics = await down.metrics.registry.metrics();
        const pending = /^sms_workflow_starts_pending(?:\{[^}]*\})? (\d+)$/m.exec(metrics);
        expect(Number(pending?.[1])).toBeGreaterThanOrEqual(1);

        // Asked now, the API says accepted (not 404) and the charge is already counted.
        const got = await p.get(id);
        expect(got).toMatchObject({ id, status: 'accepted', attempts: 0 });
        const charge = await p.db.query('select state from message_charges where message_id = $1', [
          id,
        ]);
        expect(charge.rows).toEqual([{ state: 'charged' }]);

        // Another API process whose Temporal answers takes it over once the failed try's backoff is over.
        await eventually(
          'the start taken over',
          async () => {
            await p.app.startRelay.drain();
            return (await pendingRow(id)) === undefined ? true : undefined;
          },
          WAIT_MS,
        );
        const final = await p.waitFinal([id], WAIT_MS);
        expect(final.get(id)).toMatchObject({ status: 'delivered', carrier: 'smsc-a' });
        expect(p.smscs[0]!.messages().filter((m) => m.destination === PHONE)).toHaveLength(1);
      } finally {
        await close();
      }
    },
    TEST_MS,
  );

  test(
    'a retried request and a cancel start a waiting workflow at once; the retry sends once',
    async () => {
      const body = { to: '+447400765433', body: 'Your code is 550112', purpose: 'otp' };
      const key = { 'idempotency-key': `start-${Date.now()}` };
      const first = await p.send(body, key);
      expect(first.status).toBe(202);
      const { id } = (await first.json()) as { id: string };
      // The same request again, possibly before the relay got to it: the same message, once.
      const again = await p.send(body, key);
      expect(again.status).toBe(202);
      expect(((await again.json()) as { id: string }).id).toBe(id);
      expect(await pendingRow(id)).toBeUndefined();
      const other = await p.send({ ...body, body: 'Your code is 550113' }, key);
      expect(other.status).toBe(409);
      const final = await p.waitFinal([id], WAIT_MS);
      expect(final.get(id)).toMatchObject({ status: 'delivered' });
      expect(p.smscs[0]!.messages().filter((m) => m.destination === body.to)).toHaveLength(1);

      // Once its history is gone (as after the retention purge), the same key still names that
      // message: its recorded status comes back and nothing is sent again.
      const temporal = p.workers[0]!.temporal;
      await temporal.workflowService.deleteWorkflowExecution({
        namespace: p.config.temporal.namespace,
        workflowExecution: { workflowId: id },
      });
      await historiesDeleted(temporal, [id], 'the history deleted');
      const afterPurge = await p.send(body, key);
      expect(afterPurge.status).toBe(202);
      expect(await afterPurge.json()).toMatchObject({ id, status: 'delivered' });
      await p.app.startRelay.drain();
      expect(await pendingRow(id)).toBeUndefined();
      expect(p.smscs[0]!.messages().filter((m) => m.destination === body.to)).toHaveLength(1);

      // A scheduled send cancelled right after its 202: the cancel starts it and stops it.
      const later = await p.send({
        to: '+447400765434',
        body: 'Your appointment is tomorrow',
        purpose: 'transactional',
        sendAt: new Date(Date.now() + 3_600_000).toISOString(),
      });
      expect(later.status).toBe(202);
      const { id: laterId } = (await later.json()) as { id: string };
      const cancel = await fetch(`${p.base}/v1/messages/${laterId}/cancel`, {
        method: 'POST',
        headers: { authorization: `Bearer ${p.apiKey}` },
      });
      expect(cancel.status).toBe(202);
      const cancelled = await p.waitFinal([laterId], WAIT_MS);
      expect(cancelled.get(laterId)).toMatchObject({ status: 'cancelled' });
    },
    TEST_MS,
  );
});

describe('workflow starts: backpressure', () => {
  let api: TestApi;
  beforeAll(async () => {
    // No worker polls this API's task queue, so every started workflow's first task stays backlogged.
    api = await startApi({ WORKFLOW_START_MAX_BACKLOG: '1', WORKFLOW_START_POLL_MS: '3600000' });
  }, SETUP_MS);
  afterAll(async () => api?.close());

  test(
    'while the task queue has maxBacklog tasks waiting, new starts wait in PostgreSQL, in order, and go once it has room',
    async () => {
      const tenant = unique('bp').toLowerCase();
      const { secret } = await createApiKey(api.db, tenant, ['sender']);
      const send = async (n: number) => {
        const res = await api.app.inject({
          method: 'POST',
          url: '/v1/messages',
          headers: { authorization: `Bearer ${secret}` },
          payload: { to: `+44740076544${n}`, body: `Your code is 77310${n}`, purpose: 'otp' },
        });
        expect(res.statusCode).toBe(202);
        return res.json<{ id: string }>().id;
      };
      const first = await send(1);
      await api.app.startRelay.drain();
      expect(api.started).toContain(first);
      const queue = taskQueueFor('global', api.config.temporal.taskQueuePrefix);
      await eventually(
        'the first task backlogged',
        async () => {
          const r = await api.temporal.workflowService.describeTaskQueue({
            namespace: api.config.temporal.namespace,
            taskQueue: { name: queue },
            taskQueueType: proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            reportStats: true,
          });
          return Number(r.stats?.approximateBacklogCount ?? 0) >= 1 ? true : undefined;
        },
        WAIT_MS,
      );
      // The relay's earlier reading (empty queue) is too old by now.
      await new Promise((r) => setTimeout(r, 400));

      const second = await send(2);
      const third = await send(3);
      await api.app.startRelay.drain();
      expect(api.started).not.toContain(second);
      expect(api.started).not.toContain(third);
      const { rows } = await api.db.query<{ message_id: string; attempts: number }>(
        'select message_id, attempts from workflow_starts where message_id = any($1) order by created_at',
        [[second, third]],
      );
      // Waiting is not failing: no attempt counted, no error.
      expect(rows).toEqual([
        { message_id: second, attempts: 0 },
        { message_id: third, attempts: 0 },
      ]);

      // A relay without the limit (as if the workers had caught up) starts them.
      const unlimited = new StartRelay({
        db: api.db,
        temporal: api.temporal,
        log: silentLog,
        maxBacklog: 0,
      });
      await eventually(
        'the waiting starts taken',
        async () => {
          await unlimited.drain();
          return api.started.includes(second) && api.started.includes(third) ? true : undefined;
        },
        WAIT_MS,
      );
      await unlimited.close();
      const left = await api.db.query('select 1 from workflow_starts where message_id = any($1)', [
        [second, third],
      ]);
      expect(left.rowCount).toBe(0);
    },
    TEST_MS,
  );
});
