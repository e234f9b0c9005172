import * as smpp from 'smpp';
import pino from 'pino';
import { createSmppAdapter, type SmppAdapter } from '../../../carriers/smpp/client';
import {
  RequestError,
  type RequestFailure,
  type SmppSession,
  type SmppSessionEvents,
  type SmppSessionFactory,
} from '../../../carriers/smpp/session';
import { CarrierErrorType, SmppStatus } from '../../../carriers/errors';

/** One submit_sm the fake SMSC received; the test answers it. */
interface SentRequest {
  pdu: smpp.PDU;
  answer(commandStatus: number, messageId?: string): void;
  fail(kind: RequestFailure): void;
}

/** A session without sockets: the test binds it, drops it and answers each request by hand. */
class FakeSession implements SmppSession {
  bound = false;
  readonly sent: SentRequest[] = [];
  private readonly arrivals: ((r: SentRequest) => void)[] = [];
  private taken = 0;

  constructor(private readonly events: SmppSessionEvents) {}

  bind(): void {
    this.bound = true;
    this.events.onBound();
  }

  request(pdu: smpp.PDU): Promise<smpp.PDU> {
    return new Promise((resolve, reject) => {
      const sent: SentRequest = {
        pdu,
        answer: (commandStatus, messageId) =>
          resolve(
            pdu.response({
              command_status: commandStatus,
              ...(messageId ? { message_id: messageId } : {}),
            }),
          ),
        fail: (kind) => reject(new RequestError(kind)),
      };
      this.sent.push(sent);
      this.arrivals.shift()?.(sent);
    });
  }

  /** The next request not yet taken by the test, once it is sent. */
  next(): Promise<SentRequest> {
    const index = this.taken++;
    const ready = this.sent[index];
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve) => this.arrivals.push(resolve));
  }

  whenBound(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.bound = false;
    return Promise.resolve();
  }
}

const log = pino({ level: 'silent' });
let adapters: SmppAdapter[] = [];

/** An adapter over a fake session (bound unless `bound: false`). */
function adapterWithFake(
  options: { windowSize?: number; connectTimeoutMs?: number; bound?: boolean } = {},
): { adapter: SmppAdapter; fake: FakeSession } {
  let fake: FakeSession | undefined;
  const openFake: SmppSessionFactory = (_options, events) => (fake = new FakeSession(events));
  const adapter = createSmppAdapter(
    {
      name: 'fake-smsc',
      host: 'unused',
      port: 0,
      systemId: 'x',
      password: 'y',
      log,
      onReceipt: () => undefined,
      ...(options.windowSize !== undefined ? { windowSize: options.windowSize } : {}),
      ...(options.connectTimeoutMs !== undefined
        ? { connectTimeoutMs: options.connectTimeoutMs }
        : {}),
    },
    openFake,
  );
  adapters.push(adapter);
  if (options.bound !== false) fake!.bind();
  return { adapter, fake: fake! };
}

const message = (n: number, text = 'hello') => ({
  messageId: `msg_${n}`,
  to: '+4915112345678',
  from: 'ACME',
  text,
  registeredDelivery: true,
});

afterEach(async () => {
  await Promise.all(adapters.map((a) => a.close()));
  adapters = [];
});

describe('SMPP submit and window over an injected session', () => {
  it('holds at most windowSize submit_sm in flight; a queued one goes when one is answered', async () => {
    const { adapter, fake } = adapterWithFake({ windowSize: 2 });
    const results = [1, 2, 3].map((n) => adapter.submit(message(n, `hello ${n}`)));
    // The three submits race for the window: each is answered with the id of its own text, in
    // whatever order they were sent.
    const answer = (r: SentRequest) =>
      r.answer(0, `id-${String(r.pdu.short_message).replace('hello ', '')}`);
    const first = await fake.next();
    const second = await fake.next();
    await new Promise((r) => setImmediate(r));
    expect(fake.sent).toHaveLength(2);

    answer(first);
    const third = await fake.next();
    expect(fake.sent).toHaveLength(3);
    answer(second);
    answer(third);
    const ids = (await Promise.all(results)).map((r) => r.carrierMessageIds);
    expect(ids).toEqual([['id-1'], ['id-2'], ['id-3']]);
  });

  it('sends a throttled part again (at the lowered rate) and returns the id of the accepted one', async () => {
    const { adapter, fake } = adapterWithFake();
    const result = adapter.submit(message(1));
    (await fake.next()).answer(SmppStatus.ESME_RTHROTTLED);
    const retry = await fake.next();
    expect(retry.pdu.destination_addr).toBe('4915112345678');
    retry.answer(0, 'id-after-throttle');
    await expect(result).resolves.toMatchObject({ carrierMessageIds: ['id-after-throttle'] });
    expect(fake.sent).toHaveLength(2);
  });

  it('skips parts already acknowledged and reports each new one before sending the next', async () => {
    const { adapter, fake } = adapterWithFake();
    const acked: [number, string][] = [];
    const text = 'x'.repeat(400); // GSM 7-bit: three parts of at most 153 characters
    const result = adapter.submit(
      { ...message(1, text), ackedParts: { 0: 'id-0' } },
      { onPartAcked: (index, id) => void acked.push([index, id]) },
    );
    const part1 = await fake.next();
    expect(part1.pdu.esm_class).toBe(0x40); // UDH: a concatenated part
    part1.answer(0, 'id-1');
    const part2 = await fake.next();
    expect(acked).toEqual([[1, 'id-1']]);
    part2.answer(0, 'id-2');
    await expect(result).resolves.toEqual({
      carrierMessageIds: ['id-0', 'id-1', 'id-2'],
      parts: 3,
      encoding: 'GSM7',
    });
    expect(acked).toEqual([
      [1, 'id-1'],
      [2, 'id-2'],
    ]);
  });

  it('fails a submit queued while unbound UNAVAILABLE after connectTimeoutMs, having sent nothing', async () => {
    const { adapter, fake } = adapterWithFake({ bound: false, connectTimeoutMs: 50 });
    await expect(adapter.submit(message(1))).rejects.toMatchObject({
      type: CarrierErrorType.UNAVAILABLE,
    });
    expect(fake.sent).toHaveLength(0);
  });

  it('sends a queued submit once the session binds', async () => {
    const { adapter, fake } = adapterWithFake({ bound: false, connectTimeoutMs: 60_000 });
    const result = adapter.submit(message(1));
    await new Promise((r) => setImmediate(r));
    expect(fake.sent).toHaveLength(0);
    fake.bind();
    (await fake.next()).answer(0, 'id-1');
    await expect(result).resolves.toMatchObject({ carrierMessageIds: ['id-1'] });
  });

  it('classifies a lost connection as TRANSIENT and a past validity end as VALIDITY_EXPIRED', async () => {
    const { adapter, fake } = adapterWithFake();
    const lost = adapter.submit(message(1));
    (await fake.next()).fail('connection-lost');
    await expect(lost).rejects.toMatchObject({ type: CarrierErrorType.TRANSIENT });

    const late = adapter.submit({ ...message(2), notAfter: Date.now() - 1 });
    await expect(late).rejects.toMatchObject({ type: CarrierErrorType.VALIDITY_EXPIRED });
    expect(fake.sent).toHaveLength(1);
  });

  it('answers a refused submit_sm with its classified type and rejects submits after close', async () => {
    const { adapter, fake } = adapterWithFake();
    const refused = adapter.submit(message(1));
    (await fake.next()).answer(SmppStatus.ESME_RINVDSTADR);
    await expect(refused).rejects.toMatchObject({
      type: CarrierErrorType.PERMANENT,
      commandStatus: SmppStatus.ESME_RINVDSTADR,
    });
    await adapter.close();
    await expect(adapter.submit(message(2))).rejects.toMatchObject({
      type: CarrierErrorType.UNAVAILABLE,
    });
  });
});
