import type { Payload } from '@temporalio/common';
import pg from 'pg';
import { createDataConverter, createTemporalClient } from '../../clients/temporal';
import { vaultClientFor } from '../../clients/vault';
import { verifyAuditChain } from '../../db/audit';
import { CODE_MASK } from '../../domain/masking';
import { needleVariants, scanForLeaks } from '../../scripts/leak-scan';
import { startPipeline, type Pipeline } from '../helpers/pipeline';
import {
  digits,
  newReviewer,
  sendMessage,
  setReviewPolicy,
  taskOf,
  waitForStatus,
  type Reviewer,
} from '../helpers/review';
import { newTemporalClient, silentLog } from '../helpers/stack';

/**
 * Human review through the API, on the real stack: pre-send approve, reject and SLA timeout,
 * leases (403 without one, expiry gives the task back), content gone after completion, a
 * post-delivery audit, and a leak scan over the run (review tasks, signal payloads in the raw
 * history, everything else the scanner covers).
 */
const LEASE_SECONDS = 8;

describe('human review: pre-send and post-delivery, leases, and nothing personal leaks', () => {
  let p: Pipeline;
  let alice: Reviewer;
  let bob: Reviewer;
  const sent: { id: string; to: string; body: string; code: string }[] = [];

  const send = async (body: string, code: string, campaign?: string) => {
    const to = `+447400${digits(6)}`;
    const id = await sendMessage(p, {
      to,
      body,
      purpose: 'otp',
      ...(campaign ? { campaign } : {}),
    });
    sent.push({ id, to, body, code });
    return { id, to };
  };
  const newCode = () => `${1 + Math.floor(Math.random() * 9)}${digits(5)}`;
  const reached = (to: string) => p.smscs[0]!.received.some((r) => r.destination === to);

  beforeAll(async () => {
    p = await startPipeline({ env: { REVIEW_LEASE_SECONDS: String(LEASE_SECONDS) } });
    alice = await newReviewer(p);
    bob = await newReviewer(p);
    await setReviewPolicy(p, { mode: 'pre_send', sampleRate: 1, slaSeconds: 600 });
    await setReviewPolicy(p, {
      campaign: 'hurry',
      mode: 'pre_send',
      sampleRate: 1,
      slaSeconds: 3,
      defaultDecision: 'reject',
    });
    await setReviewPolicy(p, { campaign: 'audit', mode: 'post_delivery', sampleRate: 1 });
  });
  afterAll(async () => p?.close());

  test('review policies: admins set them, reviewers and senders may not, bad values are 400', async () => {
    const list = await fetch(`${p.base}/v1/review-policies`, {
      headers: { authorization: `Bearer ${p.adminKey}` },
    });
    expect(list.status).toBe(200);
    const { policies } = (await list.json()) as { policies: Record<string, unknown>[] };
    expect(policies).toEqual([
      expect.objectContaining({ mode: 'pre_send', slaSeconds: 600, defaultDecision: 'approve' }),
      expect.objectContaining({ campaign: 'audit', mode: 'post_delivery', slaSeconds: 86_400 }),
      expect.objectContaining({ campaign: 'hurry', slaSeconds: 3, defaultDecision: 'reject' }),
    ]);
    for (const key of [alice.secret, p.apiKey]) {
      const res = await fetch(`${p.base}/v1/review-policies`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ mode: 'pre_send' }),
      });
      expect(res.status).toBe(403);
    }
    const bad = await fetch(`${p.base}/v1/review-policies`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${p.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'sometimes', sampleRate: 2 }),
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    // The reviewer API is the reviewer's: a sender key gets 403.
    const asSender = await fetch(`${p.base}/review/tasks`, {
      headers: { authorization: `Bearer ${p.apiKey}` },
    });
    expect(asSender.status).toBe(403);
  });

  test('approve: the message waits in_review, only the lease holder reads the redacted task, then it is delivered', async () => {
    const code = newCode();
    const body = `【Acme Bank】Your verification code is ${code}. Valid for 10 minutes.`;
    const { id, to } = await send(body, code);
    await waitForStatus(p, id, 'in_review');
    const taskId = await taskOf(p, id);
    expect(reached(to)).toBe(false);

    const queue = await alice.call('GET', 'tasks');
    expect(queue.status).toBe(200);
    expect(queue.json.tasks).toContainEqual(expect.objectContaining({ id: taskId, leased: false }));
    expect(JSON.stringify(queue.json)).not.toContain(id);

    // Nobody holds the lease yet: no content for anyone.
    expect((await bob.call('GET', `tasks/${taskId}`)).status).toBe(403);
    const claim = await alice.call('POST', 'tasks/claim', { taskId });
    expect(claim.status).toBe(200);
    expect(claim.json.taskId).toBe(taskId);
    // Bob has no lease: 403 to read, complete or release, and he cannot claim it.
    const denied = await bob.call('GET', `tasks/${taskId}`);
    expect(denied.status).toBe(403);
    expect(JSON.stringify(denied.json)).not.toContain('Acme');
    expect(
      (
        await bob.call('POST', `tasks/${taskId}/complete`, {
          verdict: 'reject',
          reasonCode: 'other',
        })
      ).status,
    ).toBe(403);
    expect((await bob.call('POST', `tasks/${taskId}/release`)).status).toBe(403);
    expect((await bob.call('POST', 'tasks/claim', { taskId })).status).toBe(404);

    const read = await alice.call('GET', `tasks/${taskId}`);
    expect(read.status).toBe(200);
    const task = read.json;
    expect(task).toMatchObject({
      id: taskId,
      mode: 'pre_send',
      country: 'GB',
      carrier: 'smsc-a',
      senderSignature: '【Acme Bank】',
      body: `【Acme Bank】Your verification code is ${CODE_MASK}. Valid for 10 minutes.`,
      encoding: 'UCS2',
      segments: 1,
      deliveryOutcome: null,
    });
    expect(task.pseudonym).toMatch(/^subj_/);
    expect(Object.keys(task).sort()).toEqual(
      [
        'body',
        'carrier',
        'country',
        'deliveryOutcome',
        'dueAt',
        'encoding',
        'id',
        'leaseExpiresAt',
        'mode',
        'pseudonym',
        'segments',
        'senderId',
        'senderSignature',
      ].sort(),
    );
    expect(JSON.stringify(task)).not.toContain(code);
    expect(JSON.stringify(task)).not.toContain(to.slice(3));

    const done = await alice.call('POST', `tasks/${taskId}/complete`, {
      verdict: 'approve',
      reasonCode: 'ok',
      // A careless note: the code and the number are masked before it is kept or signalled.
      note: `Looks right; code ${code} sent to ${to}`,
    });
    expect(done.status).toBe(200);

    // After completion the content is gone: from the reviewer's view and from the database.
    const after = await alice.call('GET', `tasks/${taskId}`);
    expect(after.status).toBe(410);
    expect(JSON.stringify(after.json)).not.toContain('Acme');
    const { rows } = await p.db.query(
      'select count(*)::int as n from review_task_content where task_id = $1',
      [taskId],
    );
    expect(rows[0].n).toBe(0);
    const { rows: stored } = await p.db.query(
      'select status, verdict, reason_code, note_masked, decided_by, default_applied from review_tasks where id = $1',
      [taskId],
    );
    expect(stored[0]).toMatchObject({
      status: 'decided',
      verdict: 'approve',
      reason_code: 'ok',
      decided_by: alice.keyId,
      default_applied: false,
    });
    expect(stored[0].note_masked).not.toContain(code);
    expect(stored[0].note_masked).not.toContain(to.slice(3));

    const final = await p.waitFinal([id]);
    expect(final.get(id)?.status).toBe('delivered');
    expect(reached(to)).toBe(true);
    const history = (final.get(id) as unknown as { history: { status: string; detail?: string }[] })
      .history;
    expect(history).toContainEqual(
      expect.objectContaining({
        status: 'in_review',
        detail: 'pre_send review: approve (ok) by a reviewer',
      }),
    );
  });

  test('reject: the message ends rejected_by_review and never reaches the carrier', async () => {
    const code = newCode();
    const { id, to } = await send(`Your code is ${code}`, code);
    await waitForStatus(p, id, 'in_review');
    const taskId = await taskOf(p, id);
    expect((await alice.call('POST', 'tasks/claim', { taskId })).status).toBe(200);
    // A rejection needs a reason.
    const noReason = await alice.call('POST', `tasks/${taskId}/complete`, {
      verdict: 'reject',
      reasonCode: 'ok',
    });
    expect(noReason.status).toBe(400);
    const done = await alice.call('POST', `tasks/${taskId}/complete`, {
      verdict: 'reject',
      reasonCode: 'wrong_template',
    });
    expect(done.status).toBe(200);
    const final = await p.waitFinal([id]);
    expect(final.get(id)).toMatchObject({
      status: 'rejected_by_review',
      reason: 'review_reject:wrong_template',
    });
    expect(reached(to)).toBe(false);
    const { rows } = await p.db.query(
      'select count(*)::int as n from dispatch_journal where message_id = $1',
      [id],
    );
    expect(rows[0].n).toBe(0);
  });

  test('timeout: nobody decides within the SLA, the default applies and the history says so', async () => {
    const code = newCode();
    const { id, to } = await send(`Your code is ${code}`, code, 'hurry');
    const final = await p.waitFinal([id]);
    expect(final.get(id)).toMatchObject({
      status: 'rejected_by_review',
      reason: 'review_default_reject',
    });
    expect(reached(to)).toBe(false);
    const history = (final.get(id) as unknown as { history: { status: string; detail?: string }[] })
      .history;
    expect(history).toContainEqual(
      expect.objectContaining({
        status: 'in_review',
        detail: 'pre_send review: no decision within the SLA, default reject applied',
      }),
    );
    const taskId = await taskOf(p, id);
    const { rows } = await p.db.query(
      `select t.status, t.verdict, t.default_applied, t.decided_by, c.task_id as content
         from review_tasks t left join review_task_content c on c.task_id = t.id where t.id = $1`,
      [taskId],
    );
    expect(rows[0]).toEqual({
      status: 'defaulted',
      verdict: 'reject',
      default_applied: true,
      decided_by: 'policy_default',
      content: null,
    });
    // Too late to decide now.
    expect((await alice.call('POST', 'tasks/claim', { taskId })).status).toBe(404);
    expect((await alice.call('GET', `tasks/${taskId}`)).status).toBe(410);
  });

  test('an expired lease puts the task back: another reviewer claims it, the first loses access', async () => {
    const code = newCode();
    const { id } = await send(`Your code is ${code}`, code);
    await waitForStatus(p, id, 'in_review');
    const taskId = await taskOf(p, id);
    expect((await alice.call('POST', 'tasks/claim', { taskId })).status).toBe(200);
    expect((await alice.call('GET', `tasks/${taskId}`)).status).toBe(200);
    // Wait out the lease (polling, no fixed sleep): Bob's claim succeeds once it has expired.
    const deadline = Date.now() + (LEASE_SECONDS + 30) * 1000;
    let claimed = 0;
    while (Date.now() < deadline) {
      claimed = (await bob.call('POST', 'tasks/claim', { taskId })).status;
      if (claimed === 200) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(claimed).toBe(200);
    expect((await alice.call('GET', `tasks/${taskId}`)).status).toBe(403);
    expect((await bob.call('GET', `tasks/${taskId}`)).status).toBe(200);
    expect(
      (await bob.call('POST', `tasks/${taskId}/complete`, { verdict: 'approve', reasonCode: 'ok' }))
        .status,
    ).toBe(200);
    expect((await p.waitFinal([id])).get(id)?.status).toBe('delivered');

    // Every read was audited, the refused ones included.
    const { rows } = await p.db.query(
      `select actor, action from audit_log where subject = $1 and action like 'review.%' order by seq`,
      [taskId],
    );
    expect(rows).toEqual(
      expect.arrayContaining([
        { actor: `reviewer:${alice.keyId}`, action: 'review.read' },
        { actor: `reviewer:${alice.keyId}`, action: 'review.read_denied' },
        { actor: `reviewer:${bob.keyId}`, action: 'review.read' },
      ]),
    );
  });

  test('post-delivery audit: the message is delivered first, then a task with its outcome is reviewed', async () => {
    const code = newCode();
    const { id } = await send(`ACME: your sign-in code is ${code}`, code, 'audit');
    expect((await p.waitFinal([id])).get(id)?.status).toBe('delivered');
    const taskId = await taskOf(p, id);
    expect((await alice.call('POST', 'tasks/claim', { taskId })).status).toBe(200);
    const task = (await alice.call('GET', `tasks/${taskId}`)).json;
    expect(task).toMatchObject({
      mode: 'post_delivery',
      carrier: 'smsc-a',
      senderSignature: 'ACME',
      body: `ACME: your sign-in code is ${CODE_MASK}`,
      deliveryOutcome: 'delivered',
    });
    expect(task.senderId).toMatch(/^\+4470000000/);
    expect(
      (
        await alice.call('POST', `tasks/${taskId}/complete`, {
          verdict: 'reject',
          reasonCode: 'rendering',
        })
      ).status,
    ).toBe(200);
    // The audit never changes the delivered message; the workflow ends after recording it.
    const temporal = await createTemporalClient(
      p.config,
      vaultClientFor(p.config, 'codec-server', { log: silentLog }),
    );
    try {
      expect(await temporal.workflow.getHandle(id).result()).toMatchObject({ status: 'delivered' });
    } finally {
      await temporal.connection.close();
    }
  });

  test('two tasks about the same subscriber carry unrelated pseudonyms', async () => {
    const to = `+447400${digits(6)}`;
    const ids: string[] = [];
    for (const code of [newCode(), newCode()]) {
      const id = await sendMessage(p, { to, body: `Your code is ${code}`, purpose: 'otp' });
      sent.push({ id, to, body: `Your code is ${code}`, code });
      ids.push(id);
    }
    const pseudonyms: string[] = [];
    for (const id of ids) {
      await waitForStatus(p, id, 'in_review');
      const taskId = await taskOf(p, id);
      expect((await alice.call('POST', 'tasks/claim', { taskId })).status).toBe(200);
      pseudonyms.push((await alice.call('GET', `tasks/${taskId}`)).json.pseudonym);
      expect(
        (
          await alice.call('POST', `tasks/${taskId}/complete`, {
            verdict: 'approve',
            reasonCode: 'ok',
          })
        ).status,
      ).toBe(200);
    }
    expect(pseudonyms[0]).not.toEqual(pseudonyms[1]);
    await p.waitFinal(ids);
  });

  test('leak scan over the run: no number or code in review tasks, signal payloads, history, database', async () => {
    expect(sent.length).toBeGreaterThanOrEqual(7);
    const needles = sent.flatMap((m) => {
      const i = m.body.indexOf(m.code);
      return [...needleVariants(m.to), m.body.slice(Math.max(0, i - 2), i + m.code.length + 1)];
    });
    const plain = await newTemporalClient();
    try {
      // The reviewDecision signals, read raw and decoded: only { taskId, verdict, reasonCode, note }.
      const { codec } = createDataConverter(
        p.config,
        vaultClientFor(p.config, 'codec-server', { log: silentLog }),
      );
      const signals: Payload[] = [];
      for (const m of sent) {
        const history = await plain.workflow.getHandle(m.id).fetchHistory();
        for (const e of history.events ?? []) {
          const s = e.workflowExecutionSignaledEventAttributes;
          if (s?.signalName === 'reviewDecision')
            signals.push(...((s.input?.payloads ?? []) as Payload[]));
        }
      }
      expect(signals.length).toBeGreaterThanOrEqual(5);
      for (const raw of signals) {
        const text = Buffer.from(raw.data!).toString('utf8');
        for (const n of needles) expect(text).not.toContain(n);
      }
      const decoded = (await codec.decode(signals)).map((s) =>
        JSON.parse(Buffer.from(s.data!).toString('utf8')),
      );
      for (const d of decoded) {
        expect(Object.keys(d).sort()).toEqual(['note', 'reasonCode', 'taskId', 'verdict']);
        for (const n of needles) expect(JSON.stringify(d)).not.toContain(n);
      }
      expect(decoded.map((d) => d.note)).toContainEqual(expect.stringContaining(CODE_MASK));

      // Its own pool, patient about connecting: the shared test machine can be very busy.
      const scanDb = new pg.Pool({
        connectionString: p.config.database.url,
        max: 4,
        connectionTimeoutMillis: 60_000,
      });
      try {
        const findings = await scanForLeaks({
          needles,
          temporal: { client: plain, query: `Tenant = '${p.tenant}'` },
          db: scanDb,
        });
        expect(findings).toEqual([]);
      } finally {
        await scanDb.end();
      }
    } finally {
      await plain.connection.close();
    }
    expect((await verifyAuditChain(p.db)).ok).toBe(true);
  });
});
