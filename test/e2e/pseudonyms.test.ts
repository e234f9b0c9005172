import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { canonicalRequest } from '../../api/routes/messages';
import type { VaultPayloadCodec } from '../../clients/codec';
import { createDataConverter, createTemporalClient } from '../../clients/temporal';
import { VaultClient } from '../../clients/vault';
import { getStatusQuery } from '../../workflows/definitions';
import { eventually, workflowGone } from '../helpers/eventually';
import { startPipeline, type Pipeline } from '../helpers/pipeline';
import { newTemporalClient, silentLog } from '../helpers/stack';

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

describe('keyed request fingerprints', () => {
  let p: Pipeline;
  let plain: Client;
  let decoding: Client;
  let codec: VaultPayloadCodec;

  beforeAll(async () => {
    p = await startPipeline();
    plain = await newTemporalClient();
    const vault = new VaultClient({ ...p.config.vault, log: silentLog });
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
    await eventually('history deleted', async () =>
      (await workflowGone(plain, id)) ? true : undefined,
    );
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
  });
});
