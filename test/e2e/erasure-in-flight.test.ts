/**
 * Erasure reaches a subject's messages in every state before dispatch, and the purge backstop
 * reaches workflows that ended without finishing; on the real stack (API, start relay, workers,
 * Temporal, OpenBao, PostgreSQL, the SMPP simulator).
 *
 * States held while the subject is erased: scheduled (sendAt), in review (a campaign's review
 * policy), tokenized and waiting for a send slot (a pool number that sends once per 1000 s), started
 * but not tokenized (no worker polls), waiting in the outbox (the start relay's backpressure, at
 * most two workflow tasks backlogged).
 */
import type { Client } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { SubscriberTokens } from '../../encryption/subscriber-token';
import { createApiKey } from '../../scripts/keys';
import { taskQueueFor } from '../../domain/regions';
import { callWithKey } from '../helpers/api';
import { eventually, workflowGone, historiesDeleted } from '../helpers/eventually';
import { startPipeline, type Pipeline } from '../helpers/pipeline';
import { sendMessage, setReviewPolicy, waitForStatus } from '../helpers/review';
import { newTemporalClient, newVault } from '../helpers/stack';

interface ErasureView {
  id: string;
  status: string;
  messagesFound: number;
  messagesPending: number;
  messagesPurged: number;
}

jest.setTimeout(600_000);

const SWEEP_INTERVAL_SECONDS = 5;

describe('erasure of messages in flight, and the purge backstop', () => {
  let p: Pipeline;
  let plain: Client;
  let dpoKey: string;
  const vault = newVault();
  const run = String(Date.now() % 100000).padStart(5, '0');
  const A = `+4474107${run}`; // the subject erased
  const F = `+4474108${run}`; // a bystander on the slow pool
  const G = `+4474109${run}`; // a bystander waiting in the outbox with the subject's messages
  const H = `+4474110${run}`; // a message whose workflow is terminated mid-flight

  const inOutbox = async (id: string) =>
    (await p.db.query('select 1 from workflow_starts where message_id = $1', [id])).rowCount === 1;
  const tokenized = async (id: string) =>
    (await p.db.query('select 1 from message_secrets where message_id = $1', [id])).rowCount === 1;
  const startedInTemporal = async (id: string) =>
    !(await inOutbox(id)) && !(await workflowGone(plain, id));
  const backlog = async () => {
    const r = await plain.workflowService.describeTaskQueue({
      namespace: p.config.temporal.namespace,
      taskQueue: { name: taskQueueFor('global', p.config.temporal.taskQueuePrefix) },
      taskQueueType: proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      reportStats: true,
    });
    return Number(r.stats?.approximateBacklogCount ?? 0);
  };

  beforeAll(async () => {
    p = await startPipeline({
      env: {
        // At most two workflow tasks wait in Temporal per task queue (the purge sweeper's timer may be
        // one of them); further starts wait in PostgreSQL.
        WORKFLOW_START_MAX_BACKLOG: '2',
        ERASURE_CANCEL_WAIT_SECONDS: '5',
        ERASURE_INTAKE_POLL_SECONDS: '1',
        PURGE_SWEEP_INTERVAL_SECONDS: String(SWEEP_INTERVAL_SECONDS),
      },
    });
    plain = await newTemporalClient();
    dpoKey = (await createApiKey(p.db, p.tenant, ['dpo'])).secret;
    // A campaign pool whose one number sends once every 1000 s: the second message waits for its slot.
    await p.db.query(
      `insert into number_pools (id, tenant, name, country, purpose, strategy, campaign)
       values ($1, $2, 'slow', null, 'transactional', 'lru', 'slow')`,
      [`pool_${p.tenant}_slow`, p.tenant],
    );
    await p.db.query(
      `insert into pool_numbers (pool_id, number, rate_per_second) values ($1, '+447000000998', 0.001)`,
      [`pool_${p.tenant}_slow`],
    );
    // Every message of campaign "qa" waits for a human before it is sent.
    await setReviewPolicy(p, {
      campaign: 'qa',
      mode: 'pre_send',
      sampleRate: 1,
      slaSeconds: 3600,
      defaultDecision: 'approve',
    });
  });
  afterAll(async () => {
    await plain?.connection.close();
    await p?.close();
  });

  test('a subject erased while its messages are scheduled, in review, tokenized, started and in the outbox: none is sent, nothing of them remains', async () => {
    const transactional = { body: 'Your parcel arrives today.', purpose: 'transactional' };
    // With the worker running: scheduled, in review, tokenized and waiting for a send slot.
    const scheduled = await sendMessage(p, {
      ...transactional,
      to: A,
      sendAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    const reviewed = await sendMessage(p, { ...transactional, to: A, campaign: 'qa' });
    const slotTaken = await sendMessage(p, { ...transactional, to: F, campaign: 'slow' });
    await p.waitFinal([slotTaken]);
    const waitingForSlot = await sendMessage(p, { ...transactional, to: A, campaign: 'slow' });
    await waitForStatus(p, scheduled, 'scheduled');
    await waitForStatus(p, reviewed, 'in_review');
    await eventually('the slow-pool message tokenized', async () =>
      (await tokenized(waitingForSlot)) ? true : undefined,
    );

    // No worker from here: a started message stays before tokenize, and with one task backlogged
    // the relay keeps further starts in the outbox.
    await p.stopWorkers();
    const started = await sendMessage(p, { ...transactional, to: A });
    await eventually('the first message started, not tokenized', async () =>
      (await startedInTemporal(started)) ? true : undefined,
    );
    await eventually('a workflow task backlogged', async () =>
      (await backlog()) >= 1 ? true : undefined,
    );
    // Until the relay's reading of the queue is fresh, a send may still start: keep sending to the
    // subject until one waits in the outbox (each sent one is held in one of the two states).
    const held: string[] = [];
    const queued = await eventually('a message of the subject waiting in the outbox', async () => {
      const id = await sendMessage(p, { ...transactional, to: A });
      held.push(id);
      await p.app.startRelay.drain();
      return (await inOutbox(id)) ? id : undefined;
    });
    const bystander = await sendMessage(p, { ...transactional, to: G });
    await p.app.startRelay.drain();
    expect(await inOutbox(bystander)).toBe(true);

    const ids = [scheduled, reviewed, waitingForSlot, started, ...held];
    expect(ids).toContain(queued);
    const sentBefore = p.smscs[0]!.received.filter((r) => r.destination === A).length;
    expect(sentBefore).toBe(0);

    const r = await callWithKey(p.base, dpoKey, 'POST', '/v1/subjects/erasure', { number: A });
    expect(r.status).toBe(202);
    const erasureId = (r.json as ErasureView).id;
    const view = async () =>
      (await callWithKey(p.base, dpoKey, 'GET', `/v1/subjects/erasure/${erasureId}`))
        .json as ErasureView;
    expect(await view()).toMatchObject({ status: 'running', messagesPurged: 0 });

    // The workers come back: the relay starts the outbox, tokenize meets the tombstone.
    await p.startWorkers();
    const done = await eventually(
      'the erasure completed',
      async () => {
        const v = await view();
        return v.status === 'completed' ? v : undefined;
      },
      300_000,
    );
    expect(done).toMatchObject({ messagesPending: 0, messagesPurged: ids.length });

    // The bystander in the outbox is sent: the erasure held up nobody else.
    expect((await p.waitFinal([bystander], 120_000)).get(bystander)).toMatchObject({
      status: 'delivered',
    });
    // None of the subject's messages reached the carrier, before or after.
    expect(p.smscs[0]!.received.filter((r) => r.destination === A)).toEqual([]);

    // Those accepted before tokenize were stopped there by the tombstone, with nothing stored.
    const { rows: stopped } = await p.db.query<{ id: string; erased_by: string | null }>(
      `select id, erased_by from messages where id = any($1) and erased_by is not null`,
      [ids],
    );
    expect(stopped.map((m) => m.id).sort()).toEqual([started, ...held].sort());
    expect(stopped.every((m) => m.erased_by === erasureId)).toBe(true);

    // Nothing of theirs remains: ciphertexts, outbox rows, review content, receipts, histories.
    const { live: tokens } = await new SubscriberTokens({ vault, db: p.db }).of(p.tenant, A);
    for (const [table, column] of [
      ['message_secrets', 'message_id'],
      ['message_intake', 'message_id'],
      ['workflow_starts', 'message_id'],
      ['review_tasks', 'message_id'],
      ['dispatch_journal', 'message_id'],
      ['message_events', 'message_id'],
    ] as const) {
      const { rows } = await p.db.query(
        `select count(*)::int as n from ${table} where ${column} = any($1)`,
        [ids],
      );
      expect({ table, n: rows[0].n }).toEqual({ table, n: 0 });
    }
    const { rows: byToken } = await p.db.query(
      'select count(*)::int as n from message_secrets where subscriber_token = any($1)',
      [tokens],
    );
    expect(byToken[0].n).toBe(0);
    const { rows: purged } = await p.db.query(
      'select count(*)::int as n from messages where id = any($1) and purged_at is not null',
      [ids],
    );
    expect(purged[0].n).toBe(ids.length);
    await historiesDeleted(plain, ids, 'every history of the subject deleted');
  }, 600_000);

  test('a message workflow terminated mid-flight is purged by the next sweep', async () => {
    // Waits for the slow pool's next slot (1000 s away): tokenized, in flight, due for purge only
    // by its backstop, days from now.
    const id = await sendMessage(p, {
      to: H,
      body: 'Your table is booked.',
      purpose: 'transactional',
      campaign: 'slow',
    });
    await eventually('the message tokenized', async () =>
      (await tokenized(id)) ? true : undefined,
    );
    const { rows: due } = await p.db.query<{ days: number }>(
      `select (extract(epoch from purge_after - now()) / 86400)::float8 as days from messages where id = $1`,
      [id],
    );
    expect(due[0]!.days).toBeGreaterThan(30); // 7 days stuck-after + 30 days retention, at least

    await plain.workflow.getHandle(id).terminate('operator ended it by hand');
    // The sweeper runs every SWEEP_INTERVAL_SECONDS; a few intervals of slack for a loaded machine.
    await eventually(
      'the terminated message purged',
      async () => {
        const { rows } = await p.db.query<{ purged: boolean; secrets: number }>(
          `select purged_at is not null as purged,
                  (select count(*)::int from message_secrets where message_id = $1) as secrets
             from messages where id = $1`,
          [id],
        );
        return rows[0]!.purged && rows[0]!.secrets === 0 ? true : undefined;
      },
      SWEEP_INTERVAL_SECONDS * 1000 * 6,
    );
    await historiesDeleted(plain, [id], 'its history deleted');
    const { rows: audit } = await p.db.query(
      `select detail from audit_log where action = 'message.purged' and subject = $1`,
      [id],
    );
    expect(audit).toEqual([{ detail: { reason: 'retention', ended: 'unfinished' } }]);
    expect(p.smscs[0]!.received.filter((r) => r.destination === H)).toEqual([]);
  }, 600_000);
});
