import { MessageCipher } from '../../encryption/message-cipher';
import { createDataConverter } from '../../clients/temporal';
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
  let worker: PipelineWorker | undefined;
  let running: Promise<void> | undefined;
  beforeAll(async () => {
    // No workers at first: the message waits, sealed, where the API left it.
    p = await startPipeline({ startWorkers: false });
  });
  afterAll(async () => {
    worker?.worker.shutdown();
    await running;
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

    // The started workflow's input, decoded with the API's own codec: references only.
    await p.app.startRelay.drain();
    const plain = await newTemporalClient();
    try {
      const history = await plain.workflow.getHandle(id).fetchHistory();
      const started = history.events![0]!.workflowExecutionStartedEventAttributes!;
      const { codec } = createDataConverter(p.config, newVault('api'));
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
    worker = await createPipelineWorker({
      config: p.config,
      log: silentLog,
      region: 'eu',
      workflowBundle: await workflowBundle(),
    });
    running = worker.run();
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
});
