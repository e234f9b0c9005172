import { createServer, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { CarrierError, CarrierErrorType, SmppStatus } from '../../carriers/errors';
import {
  createSmppAdapter,
  type MobileOriginated,
  type SmppAdapter,
  type SmppAdapterOptions,
} from '../../carriers/smpp/client';
import { concatReference, parseRelativeValidity } from '../../carriers/smpp/fields';
import {
  startSmscSimulator,
  type SmscSimulator,
  type SmscSimulatorOptions,
} from '../../carriers/simulators/smpp/smsc';
import type { DeliveryReceipt } from '../../carriers/types';

// Real simulator, real sockets on 127.0.0.1 ephemeral ports.

const TO = '+4915112345678';
const TO_CN = '+8613800138000';
const FROM = 'MyBank';
const SYSTEM_ID = 'tester';
const PASSWORD = 'secret12';

const logLines: string[] = [];
const log: Logger = pino(
  { level: 'debug' },
  new Writable({
    write(chunk: Buffer, _enc, cb) {
      logLines.push(chunk.toString());
      cb();
    },
  }),
);

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function sim(extra: Partial<SmscSimulatorOptions> = {}): Promise<SmscSimulator> {
  const s = await startSmscSimulator({
    log,
    systemId: SYSTEM_ID,
    password: PASSWORD,
    seed: 42,
    ...extra,
  });
  cleanups.push(() => s.close());
  return s;
}

function adapter(
  port: number,
  extra: Partial<SmppAdapterOptions> = {},
): { smpp: SmppAdapter; receipts: DeliveryReceipt[]; mo: MobileOriginated[] } {
  const receipts: DeliveryReceipt[] = [];
  const mo: MobileOriginated[] = [];
  const a = createSmppAdapter({
    name: 'smsc-test',
    host: '127.0.0.1',
    port,
    systemId: SYSTEM_ID,
    password: PASSWORD,
    log,
    connectTimeoutMs: 1_000,
    reconnectMinMs: 50,
    reconnectMaxMs: 200,
    submitTimeoutMs: 2_000,
    onReceipt: (r) => {
      receipts.push(r);
    },
    onMobileOriginated: (m) => {
      mo.push(m);
    },
    ...extra,
  });
  cleanups.push(() => a.close());
  return { smpp: a, receipts, mo };
}

async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function carrierError(p: Promise<unknown>): Promise<CarrierError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(CarrierError);
    return err as CarrierError;
  }
  throw new Error('expected a CarrierError');
}

const base = { to: TO, from: FROM, registeredDelivery: true };

describe('SMPP adapter against the SMSC simulator', () => {
  it('submits a GSM message and gets its receipt with the carrier message id', async () => {
    const s = await sim();
    const { smpp: a, receipts } = adapter(s.port);
    const text = 'Your code is 123456. Valid 5 min. {MyBank} €';
    const result = await a.submit({ ...base, messageId: 'msg_gsm', text, validitySeconds: 300 });

    expect(result).toMatchObject({ parts: 1, encoding: 'GSM7' });
    expect(s.messages()).toEqual([
      expect.objectContaining({
        destination: TO,
        source: FROM,
        text,
        dataCoding: 0,
        parts: 1,
        encoding: 'GSM7',
        complete: true,
      }),
    ]);
    const [part] = s.received;
    expect(part).toMatchObject({
      esmClass: 0,
      registeredDelivery: 1,
      validityPeriod: '000000000500000R',
    });
    expect(result.carrierMessageIds).toEqual([part?.messageId]);

    await waitFor(() => receipts.length === 1);
    expect(receipts[0]).toMatchObject({
      carrierMessageId: part?.messageId,
      status: 'delivered',
      errorCode: '000',
    });
    expect(receipts[0]?.doneAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    await waitFor(() => s.stats().receiptsAcked === 1);
  });

  it('submits a UCS-2 Chinese message', async () => {
    const s = await sim();
    const { smpp: a } = adapter(s.port);
    const text = '您的验证码是 482913，五分钟内有效。';
    const result = await a.submit({ ...base, to: TO_CN, messageId: 'msg_ucs2', text });
    expect(result).toMatchObject({ parts: 1, encoding: 'UCS2' });
    expect(s.messages()).toEqual([
      expect.objectContaining({
        destination: TO_CN,
        text,
        dataCoding: 8,
        encoding: 'UCS2',
        parts: 1,
      }),
    ]);
  });

  it('splits a long message into UDH parts, sent in order, acked one by one', async () => {
    const s = await sim({ behaviour: { latencyMs: 5 } });
    const { smpp: a, receipts } = adapter(s.port);
    const text = Array.from({ length: 40 }, (_, i) => `line ${i} of a long notice.`).join(' ');
    const acked: Array<[number, string]> = [];
    const result = await a.submit(
      { ...base, messageId: 'msg_long', text },
      { onPartAcked: (i, id) => void acked.push([i, id]) },
    );

    expect(result.parts).toBe(s.received.length);
    expect(result.parts).toBeGreaterThanOrEqual(3);
    const ref = concatReference('msg_long');
    s.received.forEach((p, i) => {
      expect(p.esmClass & 0x40).toBe(0x40);
      expect(p.dataCoding).toBe(0);
      expect(p.udh).toEqual({ ref, total: result.parts, seq: i + 1 });
      expect(p.shortMessage.subarray(0, 6)).toEqual(
        Buffer.from([5, 0, 3, ref, result.parts, i + 1]),
      );
    });
    expect(acked).toEqual(result.carrierMessageIds.map((id, i) => [i, id]));
    expect(s.messages()).toEqual([
      expect.objectContaining({ text, parts: result.parts, complete: true, ref }),
    ]);

    await waitFor(() => receipts.length === result.parts);
    expect(receipts.map((r) => r.carrierMessageId).sort()).toEqual(
      [...result.carrierMessageIds].sort(),
    );
  });

  it('resumes a multi-part message without resending acked parts', async () => {
    const s = await sim();
    const { smpp: a } = adapter(s.port);
    const text = 'x'.repeat(400);
    const first = await a.submit({ ...base, messageId: 'msg_resume', text });
    const again = await a.submit({
      ...base,
      messageId: 'msg_resume',
      text,
      ackedParts: { 0: first.carrierMessageIds[0] as string },
    });
    expect(s.received).toHaveLength(first.parts * 2 - 1);
    expect(again.carrierMessageIds[0]).toBe(first.carrierMessageIds[0]);
    expect(s.received.at(-1)?.udh?.ref).toBe(concatReference('msg_resume'));
  });

  it('reports receipt outcomes and parses text-only receipts', async () => {
    const s = await sim({
      behaviour: { receiptOutcome: (d) => (d === TO_CN ? 'UNDELIV' : 'DELIVRD') },
    });
    const { smpp: a, receipts } = adapter(s.port);
    const r = await a.submit({ ...base, to: TO_CN, messageId: 'msg_undeliv', text: 'hello' });
    await waitFor(() => receipts.length === 1);
    expect(receipts[0]).toMatchObject({
      carrierMessageId: r.carrierMessageIds[0],
      status: 'undeliverable',
      errorCode: '001',
    });

    // A receipt flagged only by esm_class, with the classic text (no TLVs).
    const status = await s.sendDeliverSm({
      source_addr: '4915112345678',
      destination_addr: 'MyBank',
      esm_class: 0x04,
      data_coding: 0,
      short_message: Buffer.from(
        'id:7f00aa sub:001 dlvrd:000 submit date:2401311159 done date:2401311200 stat:EXPIRED err:027 text:',
      ),
    });
    expect(status).toBe(0);
    expect(receipts[1]).toEqual({
      carrierMessageId: '7f00aa',
      status: 'expired',
      errorCode: '027',
      doneAt: '2024-01-31T12:00:00.000Z',
    });
  });

  it('answers a receipt with ESME_RX_T_APPN when onReceipt fails, so the SMSC retries', async () => {
    const s = await sim({ behaviour: { receiptDelayMs: 0 } });
    let calls = 0;
    const { smpp: a } = adapter(s.port, {
      onReceipt: () => {
        calls++;
        if (calls === 1) throw new Error('temporal unavailable');
      },
    });
    await a.submit({ ...base, messageId: 'msg_retry_receipt', text: 'hi' });
    await waitFor(() => s.stats().receiptsAcked === 1);
    expect(calls).toBe(2);
    expect(s.stats().receiptsSent).toBe(2);
  });

  it('surfaces a transient SMSC error as TRANSIENT and throttling as THROTTLED', async () => {
    const s = await sim({
      behaviour: { transientErrorRate: 1, transientErrorStatuses: [SmppStatus.ESME_RSYSERR] },
    });
    // No retry on the bind: the throttling answer itself reaches the caller.
    const { smpp: a } = adapter(s.port, { throttleRetryAfterMs: 750, throttleMaxWaitMs: 0 });
    const transient = await carrierError(a.submit({ ...base, messageId: 'msg_t', text: 'hi' }));
    expect(transient).toMatchObject({
      type: CarrierErrorType.TRANSIENT,
      commandStatus: 0x08,
      carrier: 'smsc-test',
    });

    s.setBehaviour({ transientErrorRate: 0, throttle: true });
    const throttled = await carrierError(a.submit({ ...base, messageId: 'msg_th', text: 'hi' }));
    expect(throttled).toMatchObject({
      type: CarrierErrorType.THROTTLED,
      commandStatus: 0x58,
      retryAfterMs: 750,
    });
    expect(throttled.message).not.toContain(TO.slice(1));
  });

  it('retries a throttled part on the bind at a lowered rate: every part accepted once, no error', async () => {
    const s = await sim({ behaviour: { throttleEvery: 3 } });
    const { smpp: a } = adapter(s.port, { maxSubmitsPerSecond: 200 });
    const acked: number[] = [];
    const results = await Promise.all(
      [0, 1, 2].map((i) =>
        a.submit(
          { ...base, messageId: `msg_thr_${i}`, text: `${i}`.repeat(400) },
          { onPartAcked: (p) => void acked.push(p) },
        ),
      ),
    );
    expect(results.map((r) => r.parts)).toEqual([3, 3, 3]);
    const accepted = s.received.filter((r) => r.commandStatus === 0);
    const throttled = s.received.filter((r) => r.commandStatus === SmppStatus.ESME_RTHROTTLED);
    expect(accepted).toHaveLength(9);
    expect(throttled.length).toBeGreaterThanOrEqual(4);
    // Each (message, part) accepted exactly once.
    const keys = accepted.map((r) => `${r.udh?.ref}#${r.udh?.seq}`);
    expect(new Set(keys).size).toBe(9);
    expect(acked).toHaveLength(9);
  });

  it('after an outage of the SMSC (listener gone, sessions dropped) rebinds by itself and submits again', async () => {
    const s = await sim();
    const { smpp: a } = adapter(s.port);
    await a.whenBound();
    await s.suspend();
    await waitFor(() => !a.bound);
    const during = await carrierError(a.submit({ ...base, messageId: 'msg_out', text: 'hi' }));
    expect(during.type).toBe(CarrierErrorType.UNAVAILABLE);
    await s.resume();
    await a.whenBound(5_000);
    await expect(a.submit({ ...base, messageId: 'msg_back', text: 'hi' })).resolves.toMatchObject({
      parts: 1,
    });
  });

  it('surfaces an invalid destination as PERMANENT and stops at the failing part', async () => {
    const s = await sim({ behaviour: { permanentErrorFor: (d) => d === TO } });
    const { smpp: a } = adapter(s.port);
    const acked: number[] = [];
    const err = await carrierError(
      a.submit(
        { ...base, messageId: 'msg_p', text: 'y'.repeat(300) },
        { onPartAcked: (i) => void acked.push(i) },
      ),
    );
    expect(err).toMatchObject({
      type: CarrierErrorType.PERMANENT,
      commandStatus: SmppStatus.ESME_RINVDSTADR,
    });
    expect(err.message).not.toMatch(/4915112345678|yyy/);
    expect(s.received).toHaveLength(1);
    expect(acked).toEqual([]);
  });

  it('times out a submit_sm that gets no response as TRANSIENT', async () => {
    const s = await sim({ behaviour: { noSubmitResponse: true } });
    const { smpp: a } = adapter(s.port, { submitTimeoutMs: 200 });
    const started = Date.now();
    const err = await carrierError(a.submit({ ...base, messageId: 'msg_to', text: 'hi' }));
    expect(err.type).toBe(CarrierErrorType.TRANSIENT);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('keeps at most windowSize submit_sm outstanding', async () => {
    const s = await sim({ behaviour: { latencyMs: 40, dropReceipts: true } });
    const { smpp: a } = adapter(s.port, { windowSize: 3 });
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        a.submit({ ...base, messageId: `msg_w${i}`, text: `m ${i}` }),
      ),
    );
    expect(results).toHaveLength(12);
    expect(s.received).toHaveLength(12);
    expect(s.stats().maxOutstanding).toBe(3);
  });

  it('rejects UNAVAILABLE quickly when nothing listens', async () => {
    const port = await freePort();
    const { smpp: a } = adapter(port, { connectTimeoutMs: 300 });
    const started = Date.now();
    const err = await carrierError(a.submit({ ...base, messageId: 'msg_down', text: 'hi' }));
    expect(err.type).toBe(CarrierErrorType.UNAVAILABLE);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(a.bound).toBe(false);
  });

  it('never binds with a wrong password and rejects submits UNAVAILABLE', async () => {
    const s = await sim();
    const { smpp: a } = adapter(s.port, { password: 'wrong', connectTimeoutMs: 300 });
    const err = await carrierError(a.submit({ ...base, messageId: 'msg_auth', text: 'hi' }));
    expect(err.type).toBe(CarrierErrorType.UNAVAILABLE);
    expect(s.stats().binds).toBe(0);
  });

  it('rebinds after the SMSC restarts on the same port', async () => {
    const first = await startSmscSimulator({ log, systemId: SYSTEM_ID, password: PASSWORD });
    const port = first.port;
    const { smpp: a } = adapter(port);
    await a.whenBound(2_000);
    await a.submit({ ...base, messageId: 'msg_before', text: 'before' });
    await first.close();
    await waitFor(() => !a.bound);

    const second = await sim({ port });
    await a.whenBound(5_000);
    await a.submit({ ...base, messageId: 'msg_after', text: 'after' });
    expect(second.messages().map((m) => m.text)).toEqual(['after']);
  });

  it('queues submits made while reconnecting and sends them once bound', async () => {
    const first = await startSmscSimulator({ log, systemId: SYSTEM_ID, password: PASSWORD });
    const port = first.port;
    const { smpp: a } = adapter(port, { connectTimeoutMs: 3_000 });
    await a.whenBound(2_000);
    await first.close();
    await waitFor(() => !a.bound);
    const pending = a.submit({ ...base, messageId: 'msg_queued', text: 'queued' });
    const second = await sim({ port });
    await expect(pending).resolves.toMatchObject({ parts: 1 });
    expect(second.received).toHaveLength(1);
  });

  it('sends enquire_link keep-alives and answers the SMSC’s', async () => {
    const s = await sim();
    const { smpp: a } = adapter(s.port, { enquireLinkMs: 100 });
    await a.whenBound(2_000);
    await waitFor(() => s.stats().enquireLinksAnswered >= 2);
    expect(await s.enquireLinkAll()).toBe(1);
    expect(a.bound).toBe(true);
  });

  it('delivers MO messages (GSM, UCS-2 and concatenated) to onMobileOriginated', async () => {
    const s = await sim();
    const { smpp: a, mo } = adapter(s.port);
    await a.whenBound(2_000);
    const long = 'STOP '.repeat(60).trim();
    expect(await s.sendMo({ from: TO, to: '12345', text: 'STOP' })).toBe(0);
    expect(await s.sendMo({ from: TO_CN, to: '12345', text: '退订' })).toBe(0);
    expect(await s.sendMo({ from: TO, to: '12345', text: long })).toBe(0);
    expect(mo).toEqual([
      { from: TO, to: '12345', text: 'STOP' },
      { from: TO_CN, to: '12345', text: '退订' },
      { from: TO, to: '12345', text: long },
    ]);
    expect(s.stats().moSent).toBeGreaterThan(3);
  });

  it('supports several simultaneous binds and routes receipts to the submitting session', async () => {
    const s = await sim();
    const one = adapter(s.port);
    const two = adapter(s.port);
    await Promise.all([one.smpp.whenBound(2_000), two.smpp.whenBound(2_000)]);
    expect(s.stats().boundSessions).toBe(2);
    const r1 = await one.smpp.submit({ ...base, messageId: 'msg_s1', text: 'one' });
    const r2 = await two.smpp.submit({ ...base, messageId: 'msg_s2', text: 'two' });
    await waitFor(() => one.receipts.length === 1 && two.receipts.length === 1);
    expect(one.receipts[0]?.carrierMessageId).toBe(r1.carrierMessageIds[0]);
    expect(two.receipts[0]?.carrierMessageId).toBe(r2.carrierMessageIds[0]);
  });

  it('rejects submits after close and leaves no plaintext in the logs', async () => {
    const s = await sim();
    const { smpp: a } = adapter(s.port);
    await a.submit({ ...base, messageId: 'msg_last', text: 'secret body 998877' });
    await a.close();
    const err = await carrierError(a.submit({ ...base, messageId: 'msg_closed', text: 'x' }));
    expect(err.type).toBe(CarrierErrorType.UNAVAILABLE);

    const all = logLines.join('');
    expect(all).toContain('msg_last');
    for (const secret of [
      '4915112345678',
      '8613800138000',
      '998877',
      '482913',
      '您的',
      'STOP',
      '退订',
    ]) {
      expect(all).not.toContain(secret);
    }
  });

  it('sends the validity left at submit time, and nothing once the deadline has passed (even after a window wait)', async () => {
    const s = await sim({ behaviour: { latencyMs: 1500 } });
    const { smpp: a } = adapter(s.port, { windowSize: 1 });
    const now = Date.now();
    // The first holds the only window slot for 1.5 s; the second's deadline passes while it waits.
    const first = a.submit({ ...base, messageId: 'msg_v1', text: 'one', notAfter: now + 100_000 });
    const late = carrierError(
      a.submit({ ...base, messageId: 'msg_v2', text: 'two', notAfter: now + 500 }),
    );
    await first;
    expect((await late).type).toBe(CarrierErrorType.VALIDITY_EXPIRED);
    expect(s.received.map((r) => r.text)).toEqual(['one']);
    const left = parseRelativeValidity(s.received[0]!.validityPeriod)!;
    expect(left).toBeGreaterThan(90);
    expect(left).toBeLessThanOrEqual(100);
  });
});
