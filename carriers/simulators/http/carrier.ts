import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { measure } from '../../../domain/encoding';
import type { DeliveryReceipt } from '../../types';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhook } from '../../http/signature';
import { mulberry32 } from '../simulator-support';

type ReceiptStatus = DeliveryReceipt['status'];

/** How the simulated HTTP carrier answers; change it at run time with `setBehaviour`. */
export interface HttpCarrierBehaviour {
  /** Delay before answering a submit. Default 0. */
  latencyMs: number;
  /** Answer 429 with `Retry-After: retryAfterSeconds`. Default false. */
  throttle: boolean;
  retryAfterSeconds: number;
  /** Answer 503 (with Retry-After). Default false. */
  unavailable: boolean;
  /** Share (0–1) of submits answered 503 at random. Default 0. */
  transientErrorRate: number;
  /** Destinations answered 400 `invalid_destination`. Default none. */
  permanentErrorFor: (to: string) => boolean;
  /** Delay between the submit answer and the receipt. Default 50 ms. */
  receiptDelayMs: number;
  /** Receipt status per destination. Default `delivered`. */
  receiptOutcome: (to: string) => ReceiptStatus;
  /** Send no receipts. Default false. */
  dropReceipts: boolean;
}

/** Options of {@link startHttpCarrierSimulator}. */
export interface HttpCarrierSimulatorOptions {
  port?: number;
  host?: string;
  log: Logger;
  /** Bearer token clients must present. */
  token: string;
  /** Secret signing the receipts (`x-signature`). */
  webhookSecret: string;
  /** Where receipts go when a submit names no `callbackUrl`. */
  receiptUrl?: string;
  behaviour?: Partial<HttpCarrierBehaviour>;
  /** Seed of the RNG behind `transientErrorRate` and ids. */
  seed?: number;
}

/** One POST /submit as received (plaintext: test/dev use only). */
export interface HttpReceivedSubmit {
  /** The id answered ('' when refused). */
  id: string;
  /** HTTP status answered. */
  status: number;
  to: string;
  from: string;
  text: string;
  callbackUrl?: string;
  idempotencyKey?: string;
  /** Segments the carrier would bill (domain/encoding `measure`). */
  segments: number;
  receivedAt: number;
}

export interface HttpCarrierStats {
  submits: number;
  receiptsSent: number;
  receiptsAcked: number;
  receiptsFailed: number;
}

/** A running simulated HTTP carrier, see {@link startHttpCarrierSimulator}. */
export interface HttpCarrierSimulator {
  readonly port: number;
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly received: HttpReceivedSubmit[];
  setBehaviour(patch: Partial<HttpCarrierBehaviour>): void;
  stats(): HttpCarrierStats;
  close(): Promise<void>;
}

const DEFAULT_BEHAVIOUR: HttpCarrierBehaviour = {
  latencyMs: 0,
  throttle: false,
  retryAfterSeconds: 1,
  unavailable: false,
  transientErrorRate: 0,
  permanentErrorFor: () => false,
  receiptDelayMs: 50,
  receiptOutcome: () => 'delivered',
  dropReceipts: false,
};

const MAX_BODY = 64 * 1024;
const RECEIPT_ATTEMPTS = 3;

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new BodyTooLarge());
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

/**
 * Starts a minimal HTTP carrier for tests and local development (node:http, no framework).
 *
 * `POST /submit` with `Authorization: Bearer <token>` and JSON `{ to, from, text, callbackUrl? }`
 * answers 202 `{ id }` (200 with the same id for a repeated `Idempotency-Key`), or 429 / 503
 * with Retry-After, or 400 `{ error: 'invalid_destination' | 'invalid_request' }`, per
 * {@link HttpCarrierBehaviour}. Accepted submits get a signed receipt
 * `{ id, status, errorCode?, doneAt }` POSTed to `callbackUrl ?? receiptUrl` (3 attempts).
 * Logs ids, counts and statuses only.
 */
export async function startHttpCarrierSimulator(
  options: HttpCarrierSimulatorOptions,
): Promise<HttpCarrierSimulator> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log.child({ component: 'http-carrier-simulator' });
  let behaviour: HttpCarrierBehaviour = { ...DEFAULT_BEHAVIOUR, ...options.behaviour };
  const rng = mulberry32(options.seed ?? randomBytes(4).readUInt32BE(0));
  const received: HttpReceivedSubmit[] = [];
  const byIdempotencyKey = new Map<string, string>();
  const timers = new Set<NodeJS.Timeout>();
  const aborter = new AbortController();
  const inFlight = new Set<Promise<void>>();
  const stats: HttpCarrierStats = {
    submits: 0,
    receiptsSent: 0,
    receiptsAcked: 0,
    receiptsFailed: 0,
  };
  const expectedAuth = Buffer.from(`Bearer ${options.token}`);
  let closing = false;

  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const newId = (): string =>
    Array.from({ length: 4 }, () =>
      Math.floor(rng() * 0x10000)
        .toString(16)
        .padStart(4, '0'),
    ).join('');

  async function postReceipt(
    url: string,
    receipt: Record<string, unknown>,
    attempt: number,
  ): Promise<void> {
    const body = JSON.stringify(receipt);
    const timestamp = Math.floor(Date.now() / 1000);
    stats.receiptsSent++;
    let ok = false;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signWebhook(options.webhookSecret, timestamp, body),
          [TIMESTAMP_HEADER]: String(timestamp),
        },
        body,
        signal: AbortSignal.any([aborter.signal, AbortSignal.timeout(5_000)]),
      });
      await res.arrayBuffer().catch(() => undefined);
      ok = res.ok;
      log.debug({ id: receipt.id, status: res.status, attempt }, 'receipt posted');
    } catch (err) {
      log.debug({ id: receipt.id, err: (err as Error).name, attempt }, 'receipt post failed');
    }
    if (ok) {
      stats.receiptsAcked++;
    } else if (!closing && attempt < RECEIPT_ATTEMPTS) {
      later(200 * attempt, () => sendReceipt(url, receipt, attempt + 1));
    } else {
      stats.receiptsFailed++;
    }
  }

  function sendReceipt(url: string, receipt: Record<string, unknown>, attempt: number): void {
    if (closing) return;
    const p = postReceipt(url, receipt, attempt).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }

  function scheduleReceipt(id: string, to: string, callbackUrl: string | undefined): void {
    const url = callbackUrl ?? options.receiptUrl;
    if (!url || behaviour.dropReceipts) return;
    later(behaviour.receiptDelayMs, () => {
      const status = behaviour.receiptOutcome(to);
      const receipt: Record<string, unknown> = { id, status, doneAt: new Date().toISOString() };
      if (status !== 'delivered' && status !== 'accepted') receipt.errorCode = '001';
      sendReceipt(url, receipt, 1);
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST' || req.url !== '/submit') {
      json(res, 404, { error: 'not_found' });
      return;
    }
    const auth = Buffer.from(req.headers.authorization ?? '');
    if (auth.length !== expectedAuth.length || !timingSafeEqual(auth, expectedAuth)) {
      json(res, 401, { error: 'unauthorized' });
      return;
    }
    let raw: string;
    try {
      raw = await readBody(req);
    } catch (err) {
      if (err instanceof BodyTooLarge) json(res, 413, { error: 'too_large' });
      return;
    }
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new TypeError();
      body = parsed as Record<string, unknown>;
    } catch {
      json(res, 400, { error: 'invalid_json' });
      return;
    }
    const { to, from, text, callbackUrl } = body;
    if (
      typeof to !== 'string' ||
      typeof from !== 'string' ||
      typeof text !== 'string' ||
      text.length === 0 ||
      (callbackUrl !== undefined && typeof callbackUrl !== 'string')
    ) {
      json(res, 400, { error: 'invalid_request' });
      return;
    }
    stats.submits++;
    const idempotencyKey = req.headers['idempotency-key'];
    const key = typeof idempotencyKey === 'string' && idempotencyKey ? idempotencyKey : undefined;
    const b = behaviour;
    if (b.latencyMs > 0) await new Promise<void>((r) => later(b.latencyMs, r));
    if (closing) {
      json(res, 503, { error: 'shutting_down' });
      return;
    }
    const record = (status: number, id = ''): void => {
      const entry: HttpReceivedSubmit = {
        id,
        status,
        to,
        from,
        text,
        segments: measure(text).segments,
        receivedAt: Date.now(),
      };
      if (typeof callbackUrl === 'string') entry.callbackUrl = callbackUrl;
      if (key !== undefined) entry.idempotencyKey = key;
      received.push(entry);
      log.debug({ id, status }, 'submit answered');
    };
    const previous = key === undefined ? undefined : byIdempotencyKey.get(key);
    if (previous !== undefined) {
      record(200, previous);
      json(res, 200, { id: previous });
      return;
    }
    const retryAfter = { 'retry-after': String(b.retryAfterSeconds) };
    if (b.throttle) {
      record(429);
      json(res, 429, { error: 'throttled' }, retryAfter);
    } else if (b.unavailable || (b.transientErrorRate > 0 && rng() < b.transientErrorRate)) {
      record(503);
      json(res, 503, { error: 'unavailable' }, retryAfter);
    } else if (!/^\+[1-9]\d{5,14}$/.test(to) || b.permanentErrorFor(to)) {
      record(400);
      json(res, 400, { error: 'invalid_destination' });
    } else {
      const id = newId();
      if (key !== undefined) byIdempotencyKey.set(key, id);
      record(202, id);
      json(res, 202, { id });
      scheduleReceipt(id, to, typeof callbackUrl === 'string' ? callbackUrl : undefined);
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) json(res, 500, { error: 'internal' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host}:${port}`;
  log.info({ port }, 'http carrier simulator listening');

  return {
    port,
    url,
    received,
    setBehaviour(patch) {
      behaviour = { ...behaviour, ...patch };
    },
    stats() {
      return { ...stats };
    },
    async close() {
      closing = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      aborter.abort();
      await Promise.allSettled([...inFlight]);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      log.info({ port }, 'http carrier simulator closed');
    },
  };
}
