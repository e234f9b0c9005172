/**
 * Data-subject rights end to end, on the real stack: erasure of a subject with 100 messages (some
 * still in flight), opt-outs that survive erasure, and mobile-originated STOP / 退订 through the SMPP
 * simulator that suppress the next marketing message.
 */
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { MessageCipher } from '../../encryption/message-cipher';
import { SubscriberTokens } from '../../encryption/subscriber-token';
import { createLogger } from '../../config/logger';
import { verifyAuditChain } from '../../db/audit';
import { createApiKey } from '../../scripts/keys';
import { findLogFiles, needleVariants, scanForLeaks } from '../../scripts/leak-scan';
import { callWithKey } from '../helpers/api';
import { eventually, historiesDeleted } from '../helpers/eventually';
import { startPipeline, type Pipeline } from '../helpers/pipeline';
import { newTemporalClient, newVault, stack } from '../helpers/stack';

/** The fields of the answers this test reads. */
interface Answer {
  id?: string;
  status?: string;
  fields?: string[];
  items?: { source: string }[];
  otpExemptFromOptOut?: boolean;
  messagesFound?: number;
  messagesCancelled?: number;
  messagesPurged?: number;
}

// Generous: a 2-core machine under load makes 100 messages and their erasure slow.
jest.setTimeout(900_000);

describe('data-subject rights: erasure, opt-out, MO STOP', () => {
  let p: Pipeline;
  let plain: Client;
  let dpoKey: string;
  const vault = newVault();
  const cipher = new MessageCipher({ vault });
  const lines: string[] = [];
  const run = String(Date.now() % 100000).padStart(5, '0');
  // UK mobile numbers unique to this run: A (erased, 100 messages), B (opted out, then erased),
  // C (MO STOP), D (MO 退订), E (MO that is not an opt-out).
  const A = `+4474008${run}`;
  const B = `+4474009${run}`;
  const C = `+4475001${run}`;
  const D = `+4475002${run}`;
  const E = `+4475003${run}`;
  const F = `+4475004${run}`; // a bystander whose message must survive A's erasure

  const call = async (method: string, path: string, key: string, body?: unknown) => {
    const res = await callWithKey(p.base, key, method, path, body);
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      json: (res.json ?? {}) as Answer,
    };
  };

  const sendOne = async (body: Record<string, unknown>) => {
    const res = await p.send(body);
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  };
  const sendMany = async (n: number, body: Record<string, unknown>) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i += 10)
      ids.push(
        ...(await Promise.all(Array.from({ length: Math.min(10, n - i) }, () => sendOne(body)))),
      );
    return ids;
  };
  const finalStatus = async (body: Record<string, unknown>) => {
    const id = await sendOne(body);
    return (await p.waitFinal([id])).get(id)!.status;
  };
  const erase = async (number: string) => {
    const r = await call('POST', '/v1/subjects/erasure', dpoKey, { number });
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ status: 'running' });
    expect(r.json.id).toMatch(/^era_/);
    return eventually(
      'erasure completed',
      async () => {
        const g = await call('GET', `/v1/subjects/erasure/${r.json.id!}`, dpoKey);
        expect(g.status).toBe(200);
        return g.json.status === 'completed' ? g.json : undefined;
      },
      400_000,
    );
  };

  beforeAll(async () => {
    const capture = { write: (s: string) => void lines.push(s) };
    p = await startPipeline({
      log: createLogger('subject-rights-e2e', 'debug', capture),
      env: { ERASURE_CANCEL_WAIT_SECONDS: '60' },
    });
    plain = await newTemporalClient();
    dpoKey = (await createApiKey(p.db, p.tenant, ['dpo'])).secret;
    // A campaign pool whose one number may send once every 1000 s: messages for it wait for their
    // send slot, in flight and still cancellable.
    await p.db.query(
      `insert into number_pools (id, tenant, name, country, purpose, strategy, campaign)
       values ($1, $2, 'slow', null, 'transactional', 'lru', 'slow')`,
      [`pool_${p.tenant}_slow`, p.tenant],
    );
    await p.db.query(
      `insert into pool_numbers (pool_id, number, rate_per_second) values ($1, '+447000000999', 0.001)`,
      [`pool_${p.tenant}_slow`],
    );
  });
  afterAll(async () => {
    await plain?.connection.close();
    await p?.close();
  });

  test('bad input is a 4xx problem, and erasure needs the dpo role', async () => {
    const bad = await call('POST', '/v1/subjects/erasure', dpoKey, { number: '12345' });
    expect(bad.status).toBe(400);
    expect(bad.type).toMatch(/application\/problem\+json/);
    expect(bad.json.fields).toEqual(['number']);
    expect(JSON.stringify(bad.json)).not.toContain('12345');
    expect((await call('POST', '/v1/subjects/erasure', p.apiKey, { number: A })).status).toBe(403);
    expect((await call('GET', '/v1/subjects/erasure/era_nope', dpoKey)).status).toBe(404);
    expect((await call('POST', '/v1/opt-outs', p.apiKey, { number: 'x' })).status).toBe(400);
    expect((await call('DELETE', '/v1/opt-outs/999999999', p.apiKey)).status).toBe(404);
  });

  test('erasure of a subject with 100 messages, 40 of them in flight: nothing of it remains, a new send works', async () => {
    const delivered = await sendMany(60, {
      to: A,
      body: 'Your statement is ready.',
      purpose: 'transactional',
    });
    const final = await p.waitFinal(delivered, 240_000);
    expect([...final.values()].filter((m) => m.status !== 'delivered')).toEqual([]);

    // 20 submitted and waiting for receipts that never come...
    p.smscs[0]!.setBehaviour({ dropReceipts: true });
    const submitted = await sendMany(20, {
      to: A,
      body: 'Your order shipped.',
      purpose: 'transactional',
    });
    await eventually('20 messages submitted', async () => {
      const { rows } = await p.db.query(
        `select count(distinct message_id)::int as n from dispatch_journal where message_id = any($1)`,
        [submitted],
      );
      return rows[0].n === 20 ? true : undefined;
    });
    // ...and 20 waiting for a send slot of the slow pool (the first of them gets one at once).
    const waiting = await sendMany(20, {
      to: A,
      body: 'Your appointment is tomorrow.',
      purpose: 'transactional',
      campaign: 'slow',
    });
    await eventually('20 messages tokenized', async () => {
      const { rows } = await p.db.query(
        `select count(*)::int as n from message_secrets where message_id = any($1)`,
        [waiting],
      );
      return rows[0].n === 20 ? true : undefined;
    });
    const bystander = await sendOne({
      to: F,
      body: 'Your statement is ready.',
      purpose: 'transactional',
    });
    const ids = [...delivered, ...submitted, ...waiting];
    const { live: token } = await new SubscriberTokens({ vault, db: p.db }).of(p.tenant, A);
    const { rows: held } = await p.db.query(
      `select count(*)::int as n from message_secrets where subscriber_token = any($1)`,
      [token],
    );
    expect(held[0].n).toBe(100);

    await eventually('the bystander tokenized', async () => {
      const { rows } = await p.db.query(`select 1 from message_secrets where message_id = $1`, [
        bystander,
      ]);
      return rows.length ? true : undefined;
    });
    const erasure = await erase(A);
    expect(erasure).toMatchObject({
      messagesFound: 100,
      messagesCancelled: expect.any(Number),
      messagesPurged: 100,
    });
    // Every message still running got the cancel signal (those just finishing may have too).
    expect(erasure.messagesCancelled).toBeGreaterThanOrEqual(40);
    p.smscs[0]!.setBehaviour({ dropReceipts: false });

    // Nothing of the subject decrypts any more: no ciphertext of it is left in PostgreSQL...
    const { rows: left } = await p.db.query(
      `select count(*)::int as n from message_secrets where subscriber_token = any($1) or message_id = any($2)`,
      [token, ids],
    );
    expect(left[0].n).toBe(0);
    const { rows: others } = await p.db.query(
      `select s.number_ciphertext, s.transit_key from message_secrets s join messages m on m.id = s.message_id
        where m.tenant = $1`,
      [p.tenant],
    );
    expect(others).toHaveLength(1); // the bystander's
    for (const o of others) {
      const [plainNumber] = await cipher.open(o.transit_key, [o.number_ciphertext]);
      expect(plainNumber!.toString() === A).toBe(false);
    }
    // ...nor in Temporal: every history is deleted (asynchronously, on the server).
    await historiesDeleted(plain, ids, 'Temporal histories deleted');
    const { rows: journal } = await p.db.query(
      `select count(*)::int as n from dispatch_journal where message_id = any($1)`,
      [ids],
    );
    expect(journal[0].n).toBe(0);

    // The in-flight messages not yet submitted were cancelled cleanly (19: one of the slow pool got its slot).
    const { rows: statuses } = await p.db.query(
      `select status, count(*)::int as n from messages where id = any($1) group by 1`,
      [waiting],
    );
    expect(statuses.find((s) => s.status === 'cancelled')?.n).toBe(19);
    // Every message keeps only its billing record.
    for (const id of [delivered[0]!, submitted[0]!, waiting[5]!]) {
      const view = await p.get(id);
      expect(view.purgedAt).toEqual(expect.any(String));
      expect(view).not.toHaveProperty('recipient');
    }
    const { rows: audit } = await p.db.query(
      `select action, count(*)::int as n from audit_log
        where subject = $1 or (action = 'message.purged' and detail->>'erasureId' = $1)
        group by 1 order by 1`,
      [erasure.id],
    );
    expect(audit).toEqual([
      { action: 'erasure.completed', n: 1 },
      { action: 'erasure.requested', n: 1 },
      { action: 'message.purged', n: 100 },
    ]);

    // A new send to the number works, with fresh rows.
    const fresh = await sendOne({ to: A, body: 'Welcome back.', purpose: 'transactional' });
    expect((await p.waitFinal([fresh])).get(fresh)!.status).toBe('delivered');
    const { rows: again } = await p.db.query(
      `select message_id from message_secrets where subscriber_token = any($1)`,
      [token],
    );
    expect(again.map((r) => r.message_id)).toEqual([fresh]);
  }, 600_000);

  test('an opt-out survives erasure as a keyed hash: marketing stays suppressed, otp is exempt by policy', async () => {
    const added = await call('POST', '/v1/opt-outs', p.apiKey, { number: B });
    expect(added.status).toBe(201);
    expect(JSON.stringify(added.json)).not.toContain(B.slice(1));
    expect((await call('POST', '/v1/opt-outs', p.apiKey, { number: B })).status).toBe(200);
    expect(await finalStatus({ to: B, body: 'Big sale today!', purpose: 'marketing' })).toBe(
      'suppressed',
    );

    const erasure = await erase(B);
    expect(erasure.messagesPurged).toBe(1);

    const { rows } = await p.db.query(
      `select subscriber_token from opt_outs where tenant = $1 and subscriber_token = any($2)`,
      [p.tenant, (await new SubscriberTokens({ vault, db: p.db }).of(p.tenant, B)).live],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].subscriber_token).toMatch(/^st[1-9]\d*_/);
    expect(await finalStatus({ to: B, body: 'Big sale again!', purpose: 'marketing' })).toBe(
      'suppressed',
    );
    expect(await finalStatus({ to: B, body: 'Your code is 4821', purpose: 'otp' })).toBe(
      'delivered',
    );
  });

  test('MO "STOP" and "退订" through the SMPP simulator suppress the next marketing message', async () => {
    const { rows: pool } = await p.db.query(
      `select number from pool_numbers where pool_id = $1 order by id limit 1`,
      [`pool_${p.tenant}_marketing`],
    );
    const ours = pool[0].number as string;
    // Before: marketing to C reaches it.
    expect(await finalStatus({ to: C, body: 'New arrivals!', purpose: 'marketing' })).toBe(
      'delivered',
    );

    expect(await p.smscs[0]!.sendMo({ from: C, to: ours, text: 'STOP' })).toBe(0);
    expect(await p.smscs[0]!.sendMo({ from: D, to: ours, text: '退订' })).toBe(0);
    expect(await p.smscs[0]!.sendMo({ from: E, to: ours, text: 'please stop by our shop' })).toBe(
      0,
    );

    expect(await finalStatus({ to: C, body: 'New arrivals!', purpose: 'marketing' })).toBe(
      'suppressed',
    );
    expect(await finalStatus({ to: D, body: '双十一大促', purpose: 'marketing' })).toBe(
      'suppressed',
    );
    expect(await finalStatus({ to: E, body: 'New arrivals!', purpose: 'marketing' })).toBe(
      'delivered',
    );
    // The suppression list names no number; two entries came by MO.
    const list = await call('GET', '/v1/opt-outs', p.apiKey);
    expect(list.status).toBe(200);
    expect(list.json.items!.filter((i) => i.source === 'mo')).toHaveLength(2);

    // otp is exempt by default; a tenant policy can take the exemption away.
    expect(await finalStatus({ to: C, body: 'Your code is 5930', purpose: 'otp' })).toBe(
      'delivered',
    );
    const policy = await call('PUT', '/v1/privacy-policy', p.adminKey, {
      otpExemptFromOptOut: false,
    });
    expect(policy.status).toBe(200);
    expect(policy.json.otpExemptFromOptOut).toBe(false);
    expect(await finalStatus({ to: C, body: 'Your code is 5931', purpose: 'otp' })).toBe(
      'suppressed',
    );

    // Removing the opt-out lets marketing through again.
    expect((await call('POST', '/v1/opt-outs/remove', p.apiKey, { number: C })).status).toBe(204);
    expect(await finalStatus({ to: C, body: 'Welcome back!', purpose: 'marketing' })).toBe(
      'delivered',
    );
  });

  test('no number or MO text reached a log, Temporal or a plaintext column', async () => {
    const findings = await scanForLeaks({
      needles: [A, B, C, D, E, F].flatMap(needleVariants),
      logLines: lines,
      logFiles: findLogFiles(join(stack.dataDir, 'logs')),
      temporal: { client: plain, query: `Tenant = '${p.tenant}'` },
      db: p.db,
    });
    expect(findings).toEqual([]);
    expect(lines.some((l) => l.includes('opt-out from MO'))).toBe(true);
    expect((await verifyAuditChain(p.db)).ok).toBe(true);
  });
});
