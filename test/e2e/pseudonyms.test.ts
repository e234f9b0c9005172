import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { createTokenActivities } from '../../activities/tokens/rotate-subscriber-tokens';
import { canonicalRequest } from '../../api/routes/send-message-checks';
import type { VaultPayloadCodec } from '../../encryption/codec';
import { MessageCipher } from '../../encryption/message-cipher';
import { GENERATIONS_CACHE_MS, SubscriberTokens } from '../../encryption/subscriber-token';
import { createDataConverter, createTemporalClient } from '../../clients/temporal';
import { vaultClientFor } from '../../clients/vault';
import { getStatusQuery } from '../../workflows/definitions';
import { eventually, historiesDeleted } from '../helpers/eventually';
import { startPipeline, type Pipeline } from '../helpers/pipeline';
import { createApiKey } from '../../scripts/keys';
import { newTemporalClient, silentLog, unique } from '../helpers/stack';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

const isPayload = (v: unknown): v is Payload =>
  typeof v === 'object' && v !== null && 'data' in v && 'metadata' in v && !Array.isArray(v);

/** Every string inside a JSON value (keys too), at any depth. */
function stringsOf(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) stringsOf(x, out);
  else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) {
      out.push(k);
      stringsOf(x, out);
    }
  return out;
}

/**
 * What an operator with the codec sees of a workflow: every payload of its history (inputs, results,
 * activity inputs and results, signals, queries answered, memos, failures' encoded attributes) decoded
 * by the codec and parsed, as strings. Counts the payloads so the test knows it looked.
 */
async function decodedHistoryStrings(
  plain: Client,
  codec: VaultPayloadCodec,
  id: string,
): Promise<{ strings: string[]; payloads: number }> {
  const history = await plain.workflow.getHandle(id).fetchHistory();
  const found: Payload[] = [];
  const walk = (v: unknown): void => {
    if (isPayload(v) && v.data instanceof Uint8Array) {
      found.push(v);
      return;
    }
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object' && !(v instanceof Uint8Array))
      Object.values(v).forEach(walk);
  };
  walk(history.events);
  const decoded = await codec.decode(found);
  const strings = decoded.flatMap((p) => {
    const text = Buffer.from(p.data ?? new Uint8Array()).toString('utf8');
    try {
      return [text, ...stringsOf(JSON.parse(text))];
    } catch {
      return [text];
    }
  });
  return { strings, payloads: found.length };
}

// A whole message, a history deletion (asynchronous in the server) and several sends each: a busy
// machine makes these slow, never wrong, so they get deadlines of their own beyond Jest's 120 s.
describe('keyed request fingerprints', () => {
  let p: Pipeline;
  let plain: Client;
  let decoding: Client;
  let codec: VaultPayloadCodec;

  beforeAll(async () => {
    p = await startPipeline();
    plain = await newTemporalClient();
    // Decoded as the operators' codec server does: the API's identity decrypts no payload.
    const vault = vaultClientFor(p.config, 'codec-server', { log: silentLog });
    const converter = createDataConverter(p.config, vault);
    codec = converter.codec;
    decoding = await createTemporalClient(p.config, vault, converter.dataConverter);
  });
  afterAll(async () => {
    await decoding?.connection.close();
    await plain?.connection.close();
    await p?.close();
  });

  test('no Temporal payload or query result holds a fingerprint recomputable from number, body and tenant; the idempotency check survives the purge', async () => {
    const body = { to: '+447400777731', body: 'Your code is 604817', purpose: 'otp' as const };
    const key = `fp-${Date.now()}`;
    const first = await p.send(body, { 'idempotency-key': key });
    expect(first.status).toBe(202);
    const { id } = (await first.json()) as { id: string };
    await p.waitFinal([id]);

    const unkeyed = sha256(canonicalRequest(p.tenant, body.to, body));
    const { rows } = await p.db.query<{ request_fingerprint: string }>(
      'select request_fingerprint from message_charges where message_id = $1',
      [id],
    );
    const stored = rows[0]!.request_fingerprint;
    expect(stored).toMatch(/^fp\d+\.[0-9a-f]{64}$/);
    expect(stored).not.toContain(unkeyed);

    // Everything an operator decodes: the history's payloads, and the status query's answer.
    const { strings, payloads } = await decodedHistoryStrings(plain, codec, id);
    expect(payloads).toBeGreaterThan(5);
    expect(strings.join('\n')).toContain(p.tenant); // the decoding worked
    const view = await decoding.workflow.getHandle(id).query(getStatusQuery);
    const seen = [...strings, ...stringsOf(view)];
    const hex = stored.split('.')[1]!;
    expect(seen.filter((s) => s.includes(unkeyed) || s.includes(hex))).toEqual([]);
    expect(seen.filter((s) => /fingerprint/i.test(s))).toEqual([]);
    // Nor any subscriber token: the activities read it by message id.
    expect(seen.filter((s) => /st\d+_[A-Za-z0-9_-]{20}|subscriberToken/.test(s))).toEqual([]);
    const { rows: tokenRows } = await p.db.query<{ subscriber_token: string }>(
      'select subscriber_token from message_secrets where message_id = $1',
      [id],
    );
    expect(seen.filter((s) => s.includes(tokenRows[0]!.subscriber_token))).toEqual([]);

    // Same key, same request: the same message; another request under the key: 409.
    const again = await p.send(body, { 'idempotency-key': key });
    expect(again.status).toBe(202);
    expect(((await again.json()) as { id: string }).id).toBe(id);
    const other = await p.send(
      { ...body, body: 'Your code is 604818' },
      { 'idempotency-key': key },
    );
    expect(other.status).toBe(409);

    // After the history is purged, the check still tells the two apart (from PostgreSQL alone).
    await plain.workflowService.deleteWorkflowExecution({
      namespace: p.config.temporal.namespace,
      workflowExecution: { workflowId: id },
    });
    await historiesDeleted(plain, [id], 'history deleted');
    const afterPurge = await p.send(body, { 'idempotency-key': key });
    expect(afterPurge.status).toBe(202);
    expect((await afterPurge.json()) as { id: string; status: string }).toMatchObject({
      id,
      status: 'delivered',
    });
    const otherAfterPurge = await p.send(
      { ...body, to: '+447400777732' },
      { 'idempotency-key': key },
    );
    expect(otherAfterPurge.status).toBe(409);
    expect(p.smscs[0]!.messages().filter((m) => m.destination === body.to)).toHaveLength(1);
  }, 600_000);
});

describe('per-tenant, rotatable subscriber tokens', () => {
  let p: Pipeline;
  let vault: ReturnType<typeof vaultClientFor>;
  beforeAll(async () => {
    p = await startPipeline();
    // The rotation opens sealed numbers of every region: the token-rotation identity, as npm run tokens.
    vault = vaultClientFor(p.config, 'token-rotation', { log: silentLog });
  });
  afterAll(async () => p?.close());

  const tokenOf = async (messageId: string) =>
    (
      await p.db.query<{ subscriber_token: string }>(
        'select subscriber_token from message_secrets where message_id = $1',
        [messageId],
      )
    ).rows[0]?.subscriber_token;

  async function sendAs(secret: string, body: Record<string, unknown>): Promise<string> {
    const res = await fetch(`${p.base}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  }
  const send = (body: Record<string, unknown>) => sendAs(p.apiKey, body);

  test('one number has a different token at each tenant, and after a rotation its opt-out and sticky sender still apply', async () => {
    const X = '+447400777741'; // sent to by two tenants
    const Y = '+447400777742'; // opts out of tenant A
    const Z = '+447400777743'; // keeps a sticky sender at tenant A

    // Tenant B: its own key and pool.
    const tenantB = unique('tenant').toLowerCase();
    const { secret: keyB } = await createApiKey(p.db, tenantB, ['sender']);
    await p.db.query(
      `insert into number_pools (id, tenant, name, country, purpose, strategy) values ($1, $2, 'b', null, 'otp', 'lru')`,
      [`pool_${tenantB}`, tenantB],
    );
    await p.db.query(
      `insert into pool_numbers (pool_id, number, rate_per_second) values ($1, '+447000000099', 1000)`,
      [`pool_${tenantB}`],
    );
    // Tenant A (the pipeline's): a sticky pool for its transactional messages to GB.
    const sticky = `pool_${p.tenant}_sticky`;
    await p.db.query(
      `insert into number_pools (id, tenant, name, country, purpose, strategy) values ($1, $2, 'sticky', 'GB', 'transactional', 'sticky')`,
      [sticky, p.tenant],
    );
    for (let i = 0; i < 3; i++)
      await p.db.query(
        `insert into pool_numbers (pool_id, number, rate_per_second) values ($1, $2, 1000)`,
        [sticky, `+44700000007${i}`],
      );

    // 1. The same number under two tenants: two unrelated tokens.
    const atA = await send({ to: X, body: 'Your code is 118822', purpose: 'otp' });
    const atB = await sendAs(keyB, { to: X, body: 'Your code is 118823', purpose: 'otp' });
    await p.waitFinal([atA]);
    const tokenB = await eventually('tenant B tokenized', () => tokenOf(atB));
    const tokenA = (await tokenOf(atA))!;
    expect(tokenA).toMatch(/^st[1-9]\d*_/);
    expect(tokenB).toMatch(/^st[1-9]\d*_/);
    expect(tokenA).not.toBe(tokenB);
    const tokens = new SubscriberTokens({ vault, db: p.db });
    expect((await tokens.of(p.tenant, X)).current).toBe(tokenA);
    expect((await tokens.of(tenantB, X)).current).toBe(tokenB);

    // 2. Before the rotation: Y opted out, Z has a sticky sender.
    const optOut = await fetch(`${p.base}/v1/opt-outs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${p.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ number: Y }),
    });
    expect(optOut.status).toBe(201);
    const firstZ = await send({
      to: Z,
      body: 'Your parcel is on its way.',
      purpose: 'transactional',
    });
    const suppressedBefore = await send({ to: Y, body: 'Sale today!', purpose: 'marketing' });
    // In flight across the rotation: tokenized now, checked against the opt-outs after it.
    const scheduled = await send({
      to: Y,
      body: 'Sale tomorrow!',
      purpose: 'marketing',
      sendAt: new Date(Date.now() + 20_000).toISOString(),
    });
    const before = await p.waitFinal([firstZ, suppressedBefore]);
    expect(before.get(suppressedBefore)!.status).toBe('suppressed');
    const stickySender = (await p.get(firstZ)).sender;
    expect(stickySender).toMatch(/^\+44700000007\d$/);
    await eventually('the scheduled message tokenized', async () => tokenOf(scheduled));

    // 3. Rotate tenant A's tokens (the grace covers the processes' cached generation lists).
    const cipher = new MessageCipher({ vault });
    const { rotateSubscriberTokens } = createTokenActivities({
      db: p.db,
      vault,
      cipher,
      tokens: new SubscriberTokens({ vault, db: p.db, cipher }),
      log: silentLog,
    });
    const rotated = await rotateSubscriberTokens({
      scope: p.tenant,
      graceMs: GENERATIONS_CACHE_MS + 1000,
    });
    expect(rotated).toMatchObject({ scope: p.tenant, unrecoverable: 0 });
    expect(rotated.rederived.optOuts).toBe(1);
    expect(rotated.rederived.stickySenders).toBe(1);
    expect(rotated.rederived.messages).toBeGreaterThanOrEqual(1);
    const oldGeneration = Number(/^st(\d+)_/.exec(tokenA)![1]);
    expect(rotated.generation).toBeGreaterThan(oldGeneration);
    expect(rotated.retired).toContain(oldGeneration);
    const prefix = `st${rotated.generation}_`;
    const { rows: held } = await p.db.query<{ subscriber_token: string }>(
      `select subscriber_token from opt_outs where tenant = $1
       union all
       select s.subscriber_token from sticky_senders s where s.pool_id = $2`,
      [p.tenant, sticky],
    );
    expect(held).toHaveLength(2);
    for (const r of held) expect(r.subscriber_token.startsWith(prefix)).toBe(true);
    // Tenant B was not rotated: its token is unchanged; A's new token differs from its old one.
    expect(await tokenOf(atB)).toBe(tokenB);
    expect((await tokens.of(p.tenant, X)).current).not.toBe(tokenA);
    expect((await tokens.of(p.tenant, X)).current.startsWith(prefix)).toBe(true);

    // 4. After it: the opt-out still suppresses (new and in-flight messages), the sticky sender holds.
    const afterY = await send({ to: Y, body: 'Sale again!', purpose: 'marketing' });
    const afterZ = await send({
      to: Z,
      body: 'Your parcel was delivered.',
      purpose: 'transactional',
    });
    const after = await p.waitFinal([afterY, afterZ, scheduled], 120_000);
    expect(after.get(afterY)!.status).toBe('suppressed');
    expect(after.get(scheduled)!.status).toBe('suppressed');
    expect(after.get(afterZ)!.status).toBe('delivered');
    expect((await p.get(afterZ)).sender).toBe(stickySender);
  }, 360_000);
});
