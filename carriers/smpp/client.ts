import type { Logger } from 'pino';
import type { CarrierAdapter, DeliveryReceipt } from '../types';
import { CarrierError, CarrierErrorType } from '../errors';
import { DeliverSmHandler, type MobileOriginated } from './inbound';
import type { SmppEndpoint, SmppSessionFactory } from './session';
import { openSmppSession } from './socket-session';
import { submitMessage } from './submit';
import { SubmitWindow } from './window';

export type { MobileOriginated } from './inbound';
export type { SmppEndpoint, SmppSessionFactory, SmppTlsOptions } from './session';

/** Options of {@link createSmppAdapter}. */
export interface SmppAdapterOptions extends SmppEndpoint {
  systemType?: string;
  log: Logger;
  /** Most submit_sm awaiting their response at once; the rest queue. Default 10. */
  windowSize?: number;
  /** Per submit_sm wait for its response before failing TRANSIENT. Default 10 000 ms. */
  submitTimeoutMs?: number;
  /** Period of our enquire_link keep-alive. Default 15 000 ms. */
  enquireLinkMs?: number;
  /**
   * TCP connect + bind deadline; also how long a submit waits for a bind before it fails
   * UNAVAILABLE. Default 5 000 ms.
   */
  connectTimeoutMs?: number;
  /** Rebind backoff: first delay, doubled per failed attempt up to the maximum. 500 / 30 000 ms. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** retryAfterMs suggested with THROTTLED errors (SMPP carries no delay). Default 1 000 ms. */
  throttleRetryAfterMs?: number;
  /**
   * Ceiling of this bind's adaptive send rate, submit_sm per second (domain/adaptive-rate.ts):
   * ESME_RTHROTTLED / ESME_RMSGQFUL halve the rate, accepted submits raise it back. Default 1 000.
   */
  maxSubmitsPerSecond?: number;
  /**
   * How long one part is retried on this bind while the SMSC throttles it (each retry at the lowered
   * rate) before the submit fails THROTTLED for the caller to retry later; never past `notAfter`.
   * Keep it well under the dispatch activity's start-to-close timeout. Default 30 000 ms.
   */
  throttleMaxWaitMs?: number;
  /** How long parts of a concatenated MO wait for their siblings. Default 60 000 ms. */
  moReassemblyTimeoutMs?: number;
  /**
   * Called for every delivery receipt. The deliver_sm is answered after it settles: a rejection
   * answers ESME_RX_T_APPN so the SMSC delivers the receipt again later.
   */
  onReceipt: (receipt: DeliveryReceipt) => void | Promise<void>;
  /** Called for every (reassembled) MO message; same answering rule as `onReceipt`. */
  onMobileOriginated?: (mo: MobileOriginated) => void | Promise<void>;
}

/** An SMPP 3.4 transceiver implementing the carrier port. */
export interface SmppAdapter extends CarrierAdapter {
  /** True while a bind_transceiver session is up. */
  readonly bound: boolean;
  /** Resolves once bound; rejects after `timeoutMs` or when the adapter is closed. */
  whenBound(timeoutMs?: number): Promise<void>;
}

/**
 * Creates an SMPP 3.4 carrier adapter and starts binding (bind_transceiver) in the background.
 * It wires four units: the session (session.ts: connect, bind, keep-alive, rebind with backoff
 * until `close()`, TLS), the window (window.ts: at most `windowSize` submit_sm outstanding across
 * all messages, adaptive rate under throttling), the submit (submit.ts: splitting and sending each
 * part) and the inbound handler (inbound.ts: receipts and MO messages, reassembly).
 *
 * - `submit` throws {@link CarrierError}: UNAVAILABLE when not bound within `connectTimeoutMs`
 *   (nothing was sent), TRANSIENT on submit timeout or connection loss (outcome unknown),
 *   otherwise the classified command_status.
 * - `openSession` opens the session; tests pass a fake to drive the window and the submit
 *   without sockets.
 *
 * Logs only ids, counts and command_status, never numbers or text.
 */
export function createSmppAdapter(
  options: SmppAdapterOptions,
  openSession: SmppSessionFactory = openSmppSession,
): SmppAdapter {
  const { name, host, port, tls, systemId, password } = options;
  const { connectTimeoutMs = 5_000, submitTimeoutMs = 10_000 } = options;
  const log = options.log.child({ carrier: name });
  let closed = false;
  const unavailable = (why: string): CarrierError =>
    new CarrierError(CarrierErrorType.UNAVAILABLE, name, why);

  const window = new SubmitWindow({
    name,
    log,
    windowSize: options.windowSize ?? 10,
    connectTimeoutMs,
    maxSubmitsPerSecond: options.maxSubmitsPerSecond ?? 1_000,
    throttleMaxWaitMs: options.throttleMaxWaitMs ?? 30_000,
    isBound: () => session.bound,
  });
  const inbound = new DeliverSmHandler({
    log,
    moReassemblyTimeoutMs: options.moReassemblyTimeoutMs ?? 60_000,
    onReceipt: options.onReceipt,
    ...(options.onMobileOriginated ? { onMobileOriginated: options.onMobileOriginated } : {}),
  });
  const session = openSession(
    {
      name,
      host,
      port,
      ...(tls ? { tls } : {}),
      systemId,
      password,
      systemType: options.systemType ?? '',
      log,
      submitTimeoutMs,
      enquireLinkMs: options.enquireLinkMs ?? 15_000,
      connectTimeoutMs,
      reconnectMinMs: options.reconnectMinMs ?? 500,
      reconnectMaxMs: options.reconnectMaxMs ?? 30_000,
    },
    {
      onBound: () => window.onBound(),
      onConnectionLost: () => window.onConnectionLost(),
      onDeliverSm: (body) => inbound.answer(body),
    },
  );
  const deps = {
    name,
    log,
    session,
    window,
    submitTimeoutMs,
    throttleRetryAfterMs: options.throttleRetryAfterMs ?? 1_000,
  };

  return {
    name,
    get bound() {
      return session.bound;
    },
    whenBound: (timeoutMs = connectTimeoutMs) => session.whenBound(timeoutMs),
    async submit(req, hooks) {
      if (closed) throw unavailable('adapter closed');
      return submitMessage(deps, req, hooks);
    },
    async close() {
      if (closed) return;
      closed = true;
      window.close();
      inbound.close();
      await session.close();
      log.info('smpp adapter closed');
    },
  };
}
