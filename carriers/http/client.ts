import type { Logger } from 'pino';
import {
  OutboundRefusedError,
  OutboundResponseTooLargeError,
  type OutboundHttp,
  type OutboundResponse,
} from '../../clients/outbound-http';
import { measure } from '../../domain/encoding';
import { remainingValiditySeconds } from '../../domain/scheduling';
import { CarrierError, CarrierErrorType } from '../errors';
import type { CarrierAdapter, SubmitHooks, SubmitRequest, SubmitResult } from '../types';

/** Options of {@link createHttpCarrierAdapter}. */
export interface HttpCarrierAdapterOptions {
  /** Carrier name, used in logs and in {@link CarrierError}s. */
  name: string;
  /** e.g. `https://carrier.example/api`; `/submit` is appended. */
  baseUrl: string;
  /** Bearer token. */
  token: string;
  /**
   * The guarded outbound client (clients/outbound-http.ts) with this carrier's allowlist: no
   * redirects, bounded answers, no loopback or private address unless the operator allowed it.
   */
  http: OutboundHttp;
  log: Logger;
  /** Whole-exchange deadline. Default 10 000 ms. */
  timeoutMs?: number;
  /** Our signed-webhook endpoint for receipts, sent as `callbackUrl` with every submit. */
  callbackUrl?: string;
  /** retryAfterMs for 429/503 answers without a usable Retry-After. Default 1 000 ms. */
  defaultRetryAfterMs?: number;
}

/** Parses `Retry-After` (delta seconds or HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Creates an adapter for a simple JSON-over-HTTP carrier (the shape of the bundled simulator).
 *
 * One POST of the whole text per message (HTTP carriers split themselves; `parts` in the result
 * is our own segment count), with `Idempotency-Key: <messageId>` so a retry after a timeout does
 * not send twice. Failures, as {@link CarrierError}: 429 → THROTTLED and 503 → TRANSIENT (both
 * with retryAfterMs), other 5xx/408 and timeouts → TRANSIENT, connection failures →
 * UNAVAILABLE, 4xx and 3xx (redirects are never followed) → PERMANENT, an address the outbound
 * rules refuse → UNAVAILABLE (the next carrier gets the message). Error messages carry the HTTP status only, never the response
 * body (it may echo the number).
 */
export function createHttpCarrierAdapter(options: HttpCarrierAdapterOptions): CarrierAdapter {
  const {
    name,
    token,
    http,
    timeoutMs = 10_000,
    callbackUrl,
    defaultRetryAfterMs = 1_000,
  } = options;
  const submitUrl = `${options.baseUrl.replace(/\/+$/, '')}/submit`;
  const log = options.log.child({ carrier: name });
  let closed = false;

  async function submit(req: SubmitRequest, hooks?: SubmitHooks): Promise<SubmitResult> {
    if (closed) throw new CarrierError(CarrierErrorType.UNAVAILABLE, name, 'adapter closed');
    const { encoding, segments } = measure(req.text);
    const acked = req.ackedParts?.[0];
    if (acked !== undefined) return { carrierMessageIds: [acked], parts: segments, encoding };

    const payload: Record<string, unknown> = { to: req.to, from: req.from, text: req.text };
    if (callbackUrl) payload.callbackUrl = callbackUrl;
    if (req.validitySeconds !== undefined) payload.validitySeconds = req.validitySeconds;
    if (req.notAfter !== undefined) {
      const now = Date.now();
      if (now >= req.notAfter)
        throw new CarrierError(CarrierErrorType.VALIDITY_EXPIRED, name, 'validity ended');
      payload.validitySeconds = remainingValiditySeconds(req.notAfter, now);
    }
    payload.registeredDelivery = req.registeredDelivery;

    let res: OutboundResponse;
    try {
      res = await http.post(submitUrl, {
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': req.messageId,
        },
        body: JSON.stringify(payload),
        timeoutMs,
      });
    } catch (err) {
      const errName = (err as Error).name;
      if (errName === 'TimeoutError' || err instanceof OutboundResponseTooLargeError) {
        // Safe to retry either way: the idempotency key makes the carrier answer the same id.
        throw new CarrierError(CarrierErrorType.TRANSIENT, name, (err as Error).message);
      }
      if (err instanceof OutboundRefusedError) {
        log.warn({ messageId: req.messageId, range: err.range }, 'http carrier address refused');
        throw new CarrierError(CarrierErrorType.UNAVAILABLE, name, `refused: ${err.message}`);
      }
      const code = ((err as { code?: unknown }).code ?? 'network') as string;
      log.warn({ messageId: req.messageId, code }, 'http carrier unreachable');
      throw new CarrierError(CarrierErrorType.UNAVAILABLE, name, `unreachable (${code})`);
    }

    if (res.status >= 200 && res.status < 300) {
      let id: unknown;
      try {
        id = (JSON.parse(res.body.toString('utf8')) as { id?: unknown }).id;
      } catch {
        id = undefined;
      }
      if (typeof id !== 'string' || id.length === 0) {
        // Safe to retry: the idempotency key makes the carrier answer the same id.
        throw new CarrierError(
          CarrierErrorType.TRANSIENT,
          name,
          `answered ${res.status} without an id`,
          {
            commandStatus: res.status,
          },
        );
      }
      log.info(
        { messageId: req.messageId, carrierMessageId: id, parts: segments },
        'http message submitted',
      );
      await hooks?.onPartAcked?.(0, id);
      return { carrierMessageIds: [id], parts: segments, encoding };
    }

    // The body is never read into errors (it may echo the number).
    const status = res.status;
    const retryAfter = res.headers['retry-after'];
    const retryAfterMs = parseRetryAfter(retryAfter ?? null) ?? defaultRetryAfterMs;
    log.warn({ messageId: req.messageId, status }, 'http carrier refused submit');
    if (status === 429) {
      throw new CarrierError(CarrierErrorType.THROTTLED, name, 'answered 429', {
        commandStatus: status,
        retryAfterMs,
      });
    }
    if (status === 503) {
      throw new CarrierError(CarrierErrorType.TRANSIENT, name, 'answered 503', {
        commandStatus: status,
        retryAfterMs,
      });
    }
    if (status >= 500 || status === 408) {
      throw new CarrierError(CarrierErrorType.TRANSIENT, name, `answered ${status}`, {
        commandStatus: status,
      });
    }
    throw new CarrierError(CarrierErrorType.PERMANENT, name, `answered ${status}`, {
      commandStatus: status,
    });
  }

  return {
    name,
    submit,
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
}
