import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { CarrierError, CarrierErrorType } from '../../carriers/errors';
import { createHttpCarrierAdapter } from '../../carriers/http/client';
import { parseHttpReceipt } from '../../domain/receipts';
import { createOutboundHttp } from '../../clients/outbound-http';
import {
  createReplayCache,
  verifyWebhook,
  type VerifyResult,
} from '../../domain/webhook-signature';
import {
  startHttpCarrierSimulator,
  type HttpCarrierSimulator,
  type HttpCarrierSimulatorOptions,
} from '../../carriers/simulators/http/carrier';
import type { CarrierAdapter, DeliveryReceipt } from '../../carriers/types';

// Real HTTP carrier simulator and a real webhook receiver, on 127.0.0.1 ephemeral ports.

const TOKEN = 'carrier-token-123';
const SECRET = 'whsec_456';
const TO = '+4915112345678';

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

interface Webhook {
  url: string;
  receipts: DeliveryReceipt[];
  verdicts: VerifyResult[];
  deliveries: Array<{ headers: IncomingMessage['headers']; body: string }>;
}

async function webhookReceiver(): Promise<Webhook> {
  const seen = createReplayCache();
  const hook: Omit<Webhook, 'url'> = { receipts: [], verdicts: [], deliveries: [] };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      hook.deliveries.push({ headers: req.headers, body: raw.toString() });
      const verdict = verifyWebhook(SECRET, req.headers, raw, Math.floor(Date.now() / 1000), seen);
      hook.verdicts.push(verdict);
      if (!verdict.ok) {
        res.writeHead(401).end();
        return;
      }
      hook.receipts.push(parseHttpReceipt(JSON.parse(raw.toString())));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(async () => {
    const closed = new Promise<void>((r) => server.close(() => r()));
    server.closeAllConnections();
    await closed;
  });
  return {
    ...hook,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/carrier`,
  };
}

async function sim(
  extra: Partial<HttpCarrierSimulatorOptions> = {},
): Promise<HttpCarrierSimulator> {
  const s = await startHttpCarrierSimulator({
    log,
    token: TOKEN,
    webhookSecret: SECRET,
    seed: 7,
    ...extra,
  });
  cleanups.push(() => s.close());
  return s;
}

function adapter(
  baseUrl: string,
  extra: { token?: string; timeoutMs?: number; callbackUrl?: string } = {},
): CarrierAdapter {
  // The simulator listens on loopback: this carrier's allowlist says so, as an operator's config would.
  const http = createOutboundHttp({ httpsOnly: false, allow: ['127.0.0.1/32'] });
  const a = createHttpCarrierAdapter({
    name: 'http-test',
    baseUrl,
    token: TOKEN,
    http,
    log,
    timeoutMs: 2_000,
    ...extra,
  });
  cleanups.push(async () => {
    await a.close();
    http.close();
  });
  return a;
}

async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
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

const base = { to: TO, from: 'MyBank', registeredDelivery: true };

describe('HTTP carrier adapter against the HTTP carrier simulator', () => {
  it('submits the whole text once and gets a signed receipt', async () => {
    const hook = await webhookReceiver();
    const s = await sim();
    const a = adapter(s.url, { callbackUrl: hook.url });
    const text = 'Ваш код 4711. '.repeat(10);
    const acked: string[] = [];
    const result = await a.submit(
      { ...base, messageId: 'msg_h1', text },
      { onPartAcked: (_i, id) => void acked.push(id) },
    );

    expect(result.encoding).toBe('UCS2');
    expect(result.parts).toBe(3);
    expect(result.carrierMessageIds).toHaveLength(1);
    expect(acked).toEqual(result.carrierMessageIds);
    expect(s.received).toEqual([
      expect.objectContaining({
        to: TO,
        text,
        status: 202,
        id: result.carrierMessageIds[0],
        idempotencyKey: 'msg_h1',
        callbackUrl: hook.url,
      }),
    ]);

    await waitFor(() => hook.receipts.length === 1);
    expect(hook.receipts[0]).toMatchObject({
      carrierMessageId: result.carrierMessageIds[0],
      status: 'delivered',
    });
    expect(hook.deliveries[0]?.headers['x-signature']).toMatch(/^v1=[0-9a-f]{64}$/);
  });

  it('sends receipts to the configured receipt URL, with failure outcomes and error codes', async () => {
    const hook = await webhookReceiver();
    const s = await sim({
      receiptUrl: hook.url,
      behaviour: { receiptOutcome: () => 'undeliverable' },
    });
    const a = adapter(s.url);
    const r = await a.submit({ ...base, messageId: 'msg_h2', text: 'hi' });
    await waitFor(() => hook.receipts.length === 1);
    expect(hook.receipts[0]).toMatchObject({
      carrierMessageId: r.carrierMessageIds[0],
      status: 'undeliverable',
      errorCode: '001',
    });
  });

  it('refuses a replayed receipt at the webhook', async () => {
    const hook = await webhookReceiver();
    const s = await sim({ receiptUrl: hook.url });
    const a = adapter(s.url);
    await a.submit({ ...base, messageId: 'msg_h3', text: 'hi' });
    await waitFor(() => hook.receipts.length === 1);
    const original = hook.deliveries[0];
    const replay = await fetch(hook.url, {
      method: 'POST',
      headers: {
        'x-signature': String(original?.headers['x-signature']),
        'x-timestamp': String(original?.headers['x-timestamp']),
        'content-type': 'application/json',
      },
      body: original?.body ?? '',
    });
    expect(replay.status).toBe(401);
    expect(hook.verdicts.at(-1)).toEqual({ ok: false, reason: 'replayed' });
    expect(hook.receipts).toHaveLength(1);
  });

  it('is idempotent per message id', async () => {
    const hook = await webhookReceiver();
    const s = await sim({ receiptUrl: hook.url, behaviour: { receiptDelayMs: 0 } });
    const a = adapter(s.url);
    const first = await a.submit({ ...base, messageId: 'msg_same', text: 'hi' });
    const second = await a.submit({ ...base, messageId: 'msg_same', text: 'hi' });
    expect(second.carrierMessageIds).toEqual(first.carrierMessageIds);
    expect(s.received.map((r) => r.status)).toEqual([202, 200]);
    // A marker submitted after the duplicate: once its receipt is in, a receipt the duplicate caused
    // would have come first.
    const marker = await a.submit({ ...base, messageId: 'msg_marker', text: 'hi' });
    const markerId = marker.carrierMessageIds[0];
    await waitFor(() => hook.receipts.some((r) => r.carrierMessageId === markerId));
    expect(hook.receipts).toHaveLength(2);
  });

  it('maps 429 to THROTTLED and 503 to TRANSIENT, with retryAfterMs', async () => {
    const s = await sim({ behaviour: { throttle: true, retryAfterSeconds: 2 } });
    const a = adapter(s.url);
    const throttled = await carrierError(a.submit({ ...base, messageId: 'msg_429', text: 'hi' }));
    expect(throttled).toMatchObject({
      type: CarrierErrorType.THROTTLED,
      commandStatus: 429,
      retryAfterMs: 2000,
    });

    s.setBehaviour({ throttle: false, unavailable: true, retryAfterSeconds: 3 });
    const unavailable = await carrierError(a.submit({ ...base, messageId: 'msg_503', text: 'hi' }));
    expect(unavailable).toMatchObject({
      type: CarrierErrorType.TRANSIENT,
      commandStatus: 503,
      retryAfterMs: 3000,
    });
  });

  it('maps an invalid destination and a bad token to PERMANENT, without the number in the message', async () => {
    const s = await sim({ behaviour: { permanentErrorFor: (to) => to === TO } });
    const invalid = await carrierError(
      adapter(s.url).submit({ ...base, messageId: 'msg_400', text: 'hi' }),
    );
    expect(invalid).toMatchObject({ type: CarrierErrorType.PERMANENT, commandStatus: 400 });
    expect(invalid.message).not.toContain('4915112345678');

    const badToken = await carrierError(
      adapter(s.url, { token: 'wrong' }).submit({
        ...base,
        to: '+4917000000000',
        messageId: 'msg_401',
        text: 'hi',
      }),
    );
    expect(badToken).toMatchObject({ type: CarrierErrorType.PERMANENT, commandStatus: 401 });
  });

  it('maps a timeout to TRANSIENT and a closed port to UNAVAILABLE', async () => {
    const s = await sim({ behaviour: { latencyMs: 1_000 } });
    const slow = await carrierError(
      adapter(s.url, { timeoutMs: 100 }).submit({ ...base, messageId: 'msg_slow', text: 'hi' }),
    );
    expect(slow.type).toBe(CarrierErrorType.TRANSIENT);

    const gone = await sim();
    const url = gone.url;
    await gone.close();
    const down = await carrierError(
      adapter(url).submit({ ...base, messageId: 'msg_down', text: 'hi' }),
    );
    expect(down.type).toBe(CarrierErrorType.UNAVAILABLE);
  });

  it('keeps numbers and text out of the logs', () => {
    const all = logLines.join('');
    expect(all).toContain('msg_h1');
    for (const secret of ['4915112345678', '4711', 'Ваш', TOKEN, SECRET]) {
      expect(all).not.toContain(secret);
    }
  });
});
