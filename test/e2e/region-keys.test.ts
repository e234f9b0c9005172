import { MessageCipher } from '../../encryption/message-cipher';
import type { Payload } from '@temporalio/common';
import type { VaultIdentity } from '../../config/stack';
import { createDataConverter } from '../../clients/temporal';
import { TRANSIT_KEY, VaultPayloadCodec } from '../../encryption/codec';
import { createPipelineWorker, type PipelineWorker } from '../../workers/pipeline';
import { startPipeline, workflowBundle, type Pipeline } from '../helpers/pipeline';
import { newTemporalClient, newVault, silentLog } from '../helpers/stack';

// Region keys end to end (docs/privacy.md, "Region keys"): the API seals the number and text under the
// region's key at accept, the workflow input carries the message id only, and only the region's
// worker opens them.
jest.setTimeout(180_000);

const to = '+4915112349876';
const body = 'Ihr Code lautet 550731. Gültig 5 Minuten.';

describe('region keys: personal data sealed from the API on, opened by the region only', () => {
  let p: Pipeline;
  const workers: PipelineWorker[] = [];
  const running: Promise<void>[] = [];
  /** Starts the worker of `region` in this process (stopped after all tests). */
  const startWorker = async (region: 'eu' | 'cn') => {
    const w = await createPipelineWorker({
      config: p.config,
      log: silentLog,
      region,
      workflowBundle: await workflowBundle(),
    });
    workers.push(w);
    running.push(w.run());
  };
  beforeAll(async () => {
    // No workers at first: the message waits, sealed, where the API left it.
    p = await startPipeline({ startWorkers: false });
  });
  afterAll(async () => {
    for (const w of workers) w.worker.shutdown();
    await Promise.all(running);
    await p?.close();
  });

  test('the API seals under sms-eu, the workflow input holds no number or text, the eu worker delivers', async () => {
    const res = await p.send({ to, body, purpose: 'otp' });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };

    const { rows } = await p.db.query<{
      region: string;
      transit_key: string;
      number_ciphertext: string;
      body_ciphertext: string;
    }>('select * from message_intake where message_id = $1', [id]);
    expect(rows[0]).toMatchObject({ region: 'eu', transit_key: 'sms-eu' });
    const sealed = [rows[0]!.number_ciphertext, rows[0]!.body_ciphertext];
    for (const ct of sealed) {
      expect(ct).toMatch(/^env1\.vault:v\d+:/);
      expect(ct).not.toContain('15112349876');
      expect(ct).not.toContain('550731');
    }

    // The started workflow's input, decoded by the operators' codec server: references only.
    await p.app.startRelay.drain();
    const plain = await newTemporalClient();
    try {
      const history = await plain.workflow.getHandle(id).fetchHistory();
      const started = history.events![0]!.workflowExecutionStartedEventAttributes!;
      const { codec } = createDataConverter(p.config, newVault('codec-server'));
      const decoded = await codec.decode(started.input!.payloads!);
      const input = JSON.parse(Buffer.from(decoded[0]!.data!).toString()) as Record<
        string,
        unknown
      >;
      expect(input).toMatchObject({ messageId: id, region: 'eu' });
      expect(input).not.toHaveProperty('to');
      expect(input).not.toHaveProperty('body');
      const text = decoded.map((d) => Buffer.from(d.data ?? []).toString()).join('\n');
      expect(text).not.toContain('15112349876');
      expect(text).not.toContain('550731');
    } finally {
      await plain.connection.close();
    }

    // The API's identity sealed it and cannot open it; neither can another region's worker.
    for (const identity of ['api', 'worker-global', 'worker-cn'] as const)
      await expect(
        new MessageCipher({ vault: newVault(identity) }).open('sms-eu', sealed),
      ).rejects.toMatchObject({ name: 'VaultError', status: 403 });

    // The eu worker opens it, sends it, and the intake row moves to message_secrets as it was.
    await startWorker('eu');
    const final = await p.waitFinal([id]);
    expect(final.get(id)!.status).toBe('delivered');
    const got = p.smscs[0]!.messages().find((m) => m.destination === to);
    expect(got?.text).toBe(body);
    const left = await p.db.query('select 1 from message_intake where message_id = $1', [id]);
    expect(left.rowCount).toBe(0);
    const secrets = await p.db.query<{ number_ciphertext: string; body_ciphertext: string }>(
      'select number_ciphertext, body_ciphertext from message_secrets where message_id = $1',
      [id],
    );
    expect([secrets.rows[0]!.number_ciphertext, secrets.rows[0]!.body_ciphertext]).toEqual(sealed);
  });

  test('eu and cn histories are sealed under codec-eu and codec-cn: only their own worker and the codec server open them', async () => {
    // The eu worker runs from the test above; the cn worker joins.
    await startWorker('cn');
    const sent = {
      eu: await p.send({ to: '+4915112340011', body: 'Ihr Code lautet 771204.', purpose: 'otp' }),
      cn: await p.send({ to: '+8613812340022', body: '您的验证码是 660318。', purpose: 'otp' }),
    };
    const ids = {
      eu: ((await sent.eu.json()) as { id: string }).id,
      cn: ((await sent.cn.json()) as { id: string }).id,
    };
    const final = await p.waitFinal([ids.eu, ids.cn]);
    expect(final.get(ids.eu)!.status).toBe('delivered');
    expect(final.get(ids.cn)!.status).toBe('delivered');

    const plain = await newTemporalClient();
    try {
      for (const region of ['eu', 'cn'] as const) {
        const key = `codec-${region}`;
        const history = await plain.workflow.getHandle(ids[region]).fetchHistory();
        const payloads = payloadsOf(history);
        // Start input, activity inputs and results, signals (the receipt), the result: all of them.
        expect(payloads.length).toBeGreaterThan(5);
        expectSealedUnder(payloads, key);

        const other = region === 'eu' ? 'worker-cn' : 'worker-eu';
        for (const identity of ['api', 'worker-global', other] as const)
          await expect(decodeAs(identity, payloads)).rejects.toMatchObject({
            name: 'VaultError',
            status: 403,
          });
        for (const identity of [`worker-${region}`, 'codec-server'] as const) {
          const decoded = await decodeAs(identity, payloads);
          expect(decoded).toHaveLength(payloads.length);
          const text = decoded.map((d) => Buffer.from(d.data ?? []).toString()).join('\n');
          expect(text).toContain(ids[region]);
        }
      }

      // A planted leak: one eu payload encoded under codec-global is caught by the same check.
      const euPayloads = payloadsOf(await plain.workflow.getHandle(ids.eu).fetchHistory());
      const leak = await new VaultPayloadCodec({
        vault: newVault('api'),
        transitKey: 'codec-global',
      }).encode([{ metadata: {}, data: Buffer.from('"planted"') }]);
      expect(() => expectSealedUnder([...euPayloads, ...leak], 'codec-eu')).toThrow();
    } finally {
      await plain.connection.close();
    }
  });
});

/** Every codec payload in a raw history (anything with `metadata` and `data`, search attributes aside), at any depth. */
function payloadsOf(history: unknown): Payload[] {
  const found: Payload[] = [];
  const walk = (v: unknown) => {
    if (!v || typeof v !== 'object' || ArrayBuffer.isView(v)) return;
    if ('metadata' in v && 'data' in v && (v as Payload).metadata) {
      found.push(v as Payload);
      return;
    }
    // Search attributes are never encrypted (they hold no personal data), nor is a local activity
    // marker's own `data` (the SDK's bookkeeping: sequence, activity type, times): not payloads of
    // the codec. The marker's `result` is.
    if ('markerName' in v) {
      const { data: _bookkeeping, ...details } =
        (v as { details?: Record<string, unknown> }).details ?? {};
      walk(details);
      return;
    }
    for (const [k, child] of Object.entries(v)) if (k !== 'searchAttributes') walk(child);
  };
  walk(history);
  return found;
}

/** Each payload is encrypted (binary/encrypted) and names `transitKey` as the key that wrapped its data key. */
function expectSealedUnder(payloads: Payload[], transitKey: string) {
  for (const p of payloads) {
    expect(Buffer.from(p.metadata!.encoding!).toString()).toBe('binary/encrypted');
    expect(Buffer.from(p.metadata![TRANSIT_KEY] ?? []).toString()).toBe(transitKey);
  }
}

/** The payloads decoded under `identity`'s Vault policy (a fresh codec: no data key cached). */
async function decodeAs(identity: VaultIdentity, payloads: Payload[]): Promise<Payload[]> {
  return new VaultPayloadCodec({ vault: newVault(identity), transitKey: 'codec-global' }).decode(
    payloads,
  );
}
