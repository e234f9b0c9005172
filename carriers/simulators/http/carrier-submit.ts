import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { measure } from '../../../domain/encoding';
import type { HttpCarrierState } from './carrier-state';
import type { HttpCarrierBehaviour, HttpReceivedSubmit } from './carrier-types';

const MAX_BODY = 64 * 1024;

class BodyTooLarge extends Error {}

/** A POST /submit that passed authentication and validation. */
interface Submit {
  to: string;
  from: string;
  text: string;
  callbackUrl: string | undefined;
  idempotencyKey: string | undefined;
}

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

/** Answers JSON with `status`. */
export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

/** Handles one HTTP request: only an authenticated, valid POST /submit reaches the carrier logic. */
export async function handleRequest(
  state: HttpCarrierState,
  expectedAuth: Buffer,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const submit = await readSubmit(expectedAuth, req, res);
  if (!submit) return;
  state.stats.submits++;
  const b = state.behaviour;
  if (b.latencyMs > 0) await new Promise<void>((r) => state.later(b.latencyMs, r));
  if (state.closing) {
    json(res, 503, { error: 'shutting_down' });
    return;
  }
  answerSubmit(state, b, submit, res);
}

/**
 * Checks route, bearer token and body (404, 401, 413, 400 answered here); the submit when valid.
 */
async function readSubmit(
  expectedAuth: Buffer,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<Submit | undefined> {
  if (req.method !== 'POST' || req.url !== '/submit') {
    json(res, 404, { error: 'not_found' });
    return undefined;
  }
  const auth = Buffer.from(req.headers.authorization ?? '');
  if (auth.length !== expectedAuth.length || !timingSafeEqual(auth, expectedAuth)) {
    json(res, 401, { error: 'unauthorized' });
    return undefined;
  }
  let raw: string;
  try {
    raw = await readBody(req);
  } catch (err) {
    if (err instanceof BodyTooLarge) json(res, 413, { error: 'too_large' });
    return undefined;
  }
  let body: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new TypeError();
    body = parsed as Record<string, unknown>;
  } catch {
    json(res, 400, { error: 'invalid_json' });
    return undefined;
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
    return undefined;
  }
  const key = req.headers['idempotency-key'];
  return {
    to,
    from,
    text,
    callbackUrl: typeof callbackUrl === 'string' ? callbackUrl : undefined,
    idempotencyKey: typeof key === 'string' && key ? key : undefined,
  };
}

/**
 * Answers a valid submit per the behaviour `b` (as it was when the submit arrived): the same id again for a repeated Idempotency-Key,
 * else 429 / 503 with Retry-After, 400 for a bad destination, or 202 with a new id and a receipt.
 */
function answerSubmit(
  state: HttpCarrierState,
  b: HttpCarrierBehaviour,
  submit: Submit,
  res: ServerResponse,
): void {
  const { to, callbackUrl, idempotencyKey: key } = submit;
  const record = (status: number, id = ''): void => recordSubmit(state, submit, status, id);
  const previous = key === undefined ? undefined : state.byIdempotencyKey.get(key);
  if (previous !== undefined) {
    record(200, previous);
    json(res, 200, { id: previous });
    return;
  }
  const retryAfter = { 'retry-after': String(b.retryAfterSeconds) };
  if (b.throttle) {
    record(429);
    json(res, 429, { error: 'throttled' }, retryAfter);
  } else if (b.unavailable || (b.transientErrorRate > 0 && state.rng() < b.transientErrorRate)) {
    record(503);
    json(res, 503, { error: 'unavailable' }, retryAfter);
  } else if (!/^\+[1-9]\d{5,14}$/.test(to) || b.permanentErrorFor(to)) {
    record(400);
    json(res, 400, { error: 'invalid_destination' });
  } else {
    const id = state.newId();
    if (key !== undefined) state.byIdempotencyKey.set(key, id);
    record(202, id);
    json(res, 202, { id });
    state.scheduleReceipt(id, to, callbackUrl);
  }
}

/** Keeps the submit as received, for the tests' assertions. */
function recordSubmit(state: HttpCarrierState, submit: Submit, status: number, id: string): void {
  const { to, from, text, callbackUrl, idempotencyKey } = submit;
  const entry: HttpReceivedSubmit = {
    id,
    status,
    to,
    from,
    text,
    segments: measure(text).segments,
    receivedAt: Date.now(),
  };
  if (callbackUrl !== undefined) entry.callbackUrl = callbackUrl;
  if (idempotencyKey !== undefined) entry.idempotencyKey = idempotencyKey;
  state.received.push(entry);
  state.log.debug({ id, status }, 'submit answered');
}
