import * as smpp from 'smpp';
import type { Logger } from 'pino';
import { decodeSmppPart, reassemble, splitForSmpp, type DecodedPart } from '../../domain/encoding';
import { AdaptiveRate } from '../../domain/adaptive-rate';
import { remainingValiditySeconds } from '../../domain/scheduling';
import {
  CarrierError,
  CarrierErrorType,
  SmppStatus,
  classifySmppStatus,
  parseReceiptText,
  smppStatusLabel,
  statusFromMessageState,
} from '../errors';
import type {
  CarrierAdapter,
  DeliveryReceipt,
  SubmitHooks,
  SubmitRequest,
  SubmitResult,
} from '../types';
import {
  CommandId,
  EsmClass,
  concatReference,
  formatRelativeValidity,
  fromSmppAddress,
  toSmppAddress,
} from './fields';
import { Tlv, attachRawTap, parseRawSm, tlvString, type RawSm, type RawTap } from './raw';

/** A mobile-originated message (plaintext: hand it straight to the vault, never log it). */
export interface MobileOriginated {
  /** Sender, `+E.164` when the SMSC marks it international. */
  from: string;
  /** Our number / short code it was sent to. */
  to: string;
  text: string;
}

/**
 * SMPP over TLS: the bind password, numbers and bodies never cross the network in clear. The SMSC's
 * certificate is checked against `ca` (else the system's CAs) and `servername` (else `host`).
 */
export interface SmppTlsOptions {
  /** PEM of the CA(s) that sign the SMSC's certificate; unset = Node's default CAs. */
  ca?: string | Buffer;
  /** The name the SMSC's certificate must carry (SNI too), when it is not `host`. */
  servername?: string;
  /**
   * Refuse an SMSC whose certificate does not verify. Always say it: `false` is for a test SMSC
   * only (the link is then encrypted but open to whoever sits in the middle).
   */
  rejectUnauthorized: boolean;
}

/** Options of {@link createSmppAdapter}. */
export interface SmppAdapterOptions {
  /** Carrier name, used in logs and in {@link CarrierError}s. */
  name: string;
  host: string;
  port: number;
  /** Connect over TLS (what a production SMSC link should be); unset = plain TCP. */
  tls?: SmppTlsOptions;
  systemId: string;
  password: string;
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

type RequestFailure = 'not-sent' | 'timeout' | 'connection-lost';

class RequestError extends Error {
  constructor(readonly kind: RequestFailure) {
    super(kind);
  }
}

interface Pending {
  resolve(pdu: smpp.PDU): void;
  reject(err: RequestError): void;
}

interface Connection {
  readonly id: number;
  readonly session: smpp.Session;
  readonly tap: RawTap;
  readonly pending: Map<number, Pending>;
  readonly closed: Promise<void>;
  bound: boolean;
  ended: boolean;
  timers: NodeJS.Timeout[];
}

interface Waiter {
  resolve(): void;
  reject(err: CarrierError): void;
  timer?: NodeJS.Timeout;
}

interface MoBuffer {
  parts: Map<number, DecodedPart>;
  timer: NodeJS.Timeout;
}

/**
 * Creates an SMPP 3.4 carrier adapter and starts binding (bind_transceiver) in the background.
 *
 * - Keeps the bind alive with enquire_link, answers the SMSC's enquire_link, unbind and every
 *   deliver_sm, and rebinds with exponential backoff after any close or error until `close()`.
 * - `submit` splits the text with domain/encoding (`splitForSmpp`, reference derived from the
 *   message id), sends the parts in order (each after the previous one's submit_sm_resp), at
 *   most `windowSize` submit_sm outstanding across all messages.
 * - Throws {@link CarrierError}: UNAVAILABLE when not bound within `connectTimeoutMs` (nothing
 *   was sent), TRANSIENT on submit timeout or connection loss (outcome unknown), otherwise
 *   {@link classifySmppStatus} of the command_status.
 * - A deliver_sm with esm_class receipt type (0x04) or a receipted_message_id TLV is a receipt
 *   (TLVs preferred, the `id:… stat:…` text as fallback); any other is an MO message, decoded by
 *   data_coding and reassembled when concatenated.
 *
 * Logs only ids, counts and command_status, never numbers or text.
 */
export function createSmppAdapter(options: SmppAdapterOptions): SmppAdapter {
  const {
    name,
    host,
    port,
    tls,
    systemId,
    password,
    systemType = '',
    windowSize = 10,
    submitTimeoutMs = 10_000,
    enquireLinkMs = 15_000,
    connectTimeoutMs = 5_000,
    reconnectMinMs = 500,
    reconnectMaxMs = 30_000,
    throttleRetryAfterMs = 1_000,
    maxSubmitsPerSecond = 1_000,
    throttleMaxWaitMs = 30_000,
    moReassemblyTimeoutMs = 60_000,
    onReceipt,
    onMobileOriginated,
  } = options;
  if (!Number.isInteger(windowSize) || windowSize < 1) {
    throw new RangeError('windowSize must be a positive integer');
  }
  const log = options.log.child({ carrier: name });

  let closed = false;
  let current: Connection | undefined;
  let connectionCount = 0;
  let failedAttempts = 0;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let outstanding = 0;
  const waiters: Waiter[] = [];
  const boundWaiters = new Set<{ resolve(): void; reject(err: CarrierError): void }>();
  const live = new Set<Connection>();
  const moBuffers = new Map<string, MoBuffer>();
  // One rate per bind: throttling is the SMSC telling this bind to slow down, never a failure.
  const rate = new AdaptiveRate({ maxPerSecond: maxSubmitsPerSecond });

  const isBound = (): boolean => current?.bound === true && !current.ended;
  const unavailable = (why: string): CarrierError =>
    new CarrierError(CarrierErrorType.UNAVAILABLE, name, why);

  // ---- requests with our own timeouts (smpp 0.5 callbacks never time out) ----

  function request(conn: Connection, pdu: smpp.PDU, timeoutMs: number): Promise<smpp.PDU> {
    return new Promise((resolve, reject) => {
      if (conn.ended || !conn.session.send(pdu)) {
        reject(new RequestError('not-sent'));
        return;
      }
      const seq = pdu.sequence_number;
      const timer = setTimeout(() => {
        conn.pending.delete(seq);
        reject(new RequestError('timeout'));
      }, timeoutMs);
      conn.pending.set(seq, {
        resolve: (resp) => {
          clearTimeout(timer);
          resolve(resp);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
    });
  }

  function reply(conn: Connection, pdu: smpp.PDU, commandStatus = 0): void {
    if (conn.ended) return;
    try {
      conn.session.send(pdu.response(commandStatus ? { command_status: commandStatus } : {}));
    } catch {
      log.warn({ command: pdu.command }, 'smpp could not answer PDU');
    }
  }

  // ---- connection lifecycle ----

  function connect(): void {
    reconnectTimer = undefined;
    if (closed) return;
    const id = ++connectionCount;
    const session = smpp.connect(
      tls
        ? {
            host,
            port,
            tls: true,
            minVersion: 'TLSv1.2',
            rejectUnauthorized: tls.rejectUnauthorized,
            ...(tls.ca ? { ca: tls.ca } : {}),
            ...(tls.servername ? { servername: tls.servername } : {}),
          }
        : { host, port },
    );
    // Small PDUs + Nagle + delayed ACKs would hold each windowed submit_sm back ~40 ms.
    session.socket.setNoDelay(true);
    let markClosed!: () => void;
    const conn: Connection = {
      id,
      session,
      tap: attachRawTap(session.socket),
      pending: new Map(),
      closed: new Promise<void>((resolve) => (markClosed = resolve)),
      bound: false,
      ended: false,
      timers: [],
    };
    current = conn;
    live.add(conn);
    log.debug({ connection: id }, 'smpp connecting');

    const connectTimer = setTimeout(() => {
      if (!conn.bound) {
        log.warn({ connection: id }, 'smpp connect/bind timed out');
        teardown(conn);
      }
    }, connectTimeoutMs);
    conn.timers.push(connectTimer);

    // Over TLS, bind only once the handshake (and the certificate check) is done.
    session.on(tls ? 'secureConnect' : 'connect', () => {
      void bind(conn);
    });
    session.on('pdu', (pdu: smpp.PDU) => onPdu(conn, pdu));
    session.on('error', (err: NodeJS.ErrnoException) => {
      log.warn({ connection: id, code: err.code }, 'smpp session error');
      teardown(conn);
    });
    session.on('close', () => {
      teardown(conn);
      live.delete(conn);
      markClosed();
    });
  }

  async function bind(conn: Connection): Promise<void> {
    const pdu = new smpp.PDU('bind_transceiver', {
      system_id: systemId,
      password,
      system_type: systemType,
      interface_version: 0x34,
    });
    let resp: smpp.PDU;
    try {
      resp = await request(conn, pdu, connectTimeoutMs);
    } catch (err) {
      log.warn({ connection: conn.id, reason: (err as RequestError).kind }, 'smpp bind failed');
      teardown(conn);
      return;
    }
    if (resp.command_status !== 0) {
      log.error(
        { connection: conn.id, commandStatus: smppStatusLabel(resp.command_status) },
        'smpp bind refused',
      );
      teardown(conn);
      return;
    }
    if (conn.ended) return;
    conn.bound = true;
    failedAttempts = 0;
    log.info({ connection: conn.id }, 'smpp bound');
    startKeepAlive(conn);
    for (const w of waiters) {
      clearTimeout(w.timer);
      delete w.timer;
    }
    pump();
    for (const w of [...boundWaiters]) w.resolve();
  }

  function startKeepAlive(conn: Connection): void {
    let inFlight = false;
    const timer = setInterval(() => {
      if (inFlight || conn.ended) return;
      inFlight = true;
      request(conn, new smpp.PDU('enquire_link'), Math.min(enquireLinkMs, submitTimeoutMs)).then(
        () => {
          inFlight = false;
        },
        (err: RequestError) => {
          inFlight = false;
          log.warn({ connection: conn.id, reason: err.kind }, 'smpp enquire_link failed');
          teardown(conn);
        },
      );
    }, enquireLinkMs);
    conn.timers.push(timer);
  }

  /** Ends a connection once: fails its requests, arms waiter deadlines, schedules a rebind. */
  function teardown(conn: Connection): void {
    if (conn.ended) return;
    const wasBound = conn.bound;
    conn.ended = true;
    conn.bound = false;
    for (const t of conn.timers) clearTimeout(t);
    conn.timers = [];
    const pending = [...conn.pending.values()];
    conn.pending.clear();
    for (const p of pending) p.reject(new RequestError('connection-lost'));
    conn.session.destroy();
    if (current !== conn) return;
    current = undefined;
    if (wasBound) log.warn({ connection: conn.id }, 'smpp connection lost');
    for (const w of waiters) armDeadline(w);
    if (closed) return;
    const delay = Math.min(reconnectMaxMs, reconnectMinMs * 2 ** failedAttempts);
    failedAttempts = Math.min(failedAttempts + 1, 30);
    const jittered = Math.round(delay * (0.75 + Math.random() * 0.25));
    log.debug({ delayMs: jittered }, 'smpp rebind scheduled');
    reconnectTimer = setTimeout(connect, jittered);
  }

  // ---- inbound PDUs ----

  function onPdu(conn: Connection, pdu: smpp.PDU): void {
    if (pdu.isResponse()) {
      const pending = conn.pending.get(pdu.sequence_number);
      if (pending) {
        conn.pending.delete(pdu.sequence_number);
        pending.resolve(pdu);
      }
      return;
    }
    switch (pdu.command) {
      case 'enquire_link':
        reply(conn, pdu);
        return;
      case 'deliver_sm':
        void onDeliverSm(conn, pdu);
        return;
      case 'unbind':
        log.info({ connection: conn.id }, 'smpp unbind requested by SMSC');
        reply(conn, pdu);
        conn.session.close();
        return;
      case 'unknown':
        reply(conn, pdu); // generic_nack ESME_RINVCMDID
        return;
      case 'alert_notification':
        return; // has no response PDU
      default:
        reply(conn, pdu, 0x03 /* ESME_RINVCMDID: not supported by this ESME */);
    }
  }

  async function onDeliverSm(conn: Connection, pdu: smpp.PDU): Promise<void> {
    const body = conn.tap.take(CommandId.DELIVER_SM, pdu.sequence_number);
    let sm: RawSm;
    try {
      if (!body) throw new RangeError('deliver_sm octets not captured');
      sm = parseRawSm(body);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'smpp deliver_sm unreadable');
      reply(conn, pdu, SmppStatus.ESME_RX_P_APPN);
      return;
    }
    const isReceipt =
      (sm.esmClass & EsmClass.DELIVERY_RECEIPT) !== 0 || sm.tlvs.has(Tlv.RECEIPTED_MESSAGE_ID);
    try {
      const status = isReceipt ? await handleReceipt(sm) : await handleMo(sm);
      reply(conn, pdu, status);
    } catch (err) {
      log.warn({ err: (err as Error).name, receipt: isReceipt }, 'smpp deliver_sm handler failed');
      reply(conn, pdu, SmppStatus.ESME_RX_T_APPN);
    }
  }

  async function handleReceipt(sm: RawSm): Promise<number> {
    const payload = sm.shortMessage.length > 0 ? sm.shortMessage : sm.tlvs.get(Tlv.MESSAGE_PAYLOAD);
    const text = payload
      ? sm.dataCoding === 8
        ? decodeSmppPart(payload, 8, false).text
        : payload.toString('latin1')
      : '';
    let fromText: DeliveryReceipt | undefined;
    try {
      fromText = parseReceiptText(text);
    } catch {
      fromText = undefined;
    }
    const receiptedId = tlvString(sm.tlvs.get(Tlv.RECEIPTED_MESSAGE_ID));
    const state = sm.tlvs.get(Tlv.MESSAGE_STATE)?.[0];
    let receipt: DeliveryReceipt;
    if (receiptedId) {
      receipt = {
        carrierMessageId: receiptedId,
        status:
          state !== undefined ? statusFromMessageState(state) : (fromText?.status ?? 'unknown'),
      };
      if (fromText?.errorCode !== undefined) receipt.errorCode = fromText.errorCode;
      if (fromText?.doneAt !== undefined) receipt.doneAt = fromText.doneAt;
    } else if (fromText) {
      receipt = fromText;
    } else {
      // Unusable; answering an error would only make the SMSC resend it forever.
      log.warn('smpp receipt without message id dropped');
      return 0;
    }
    const networkError = sm.tlvs.get(Tlv.NETWORK_ERROR_CODE);
    if (receipt.errorCode === undefined && networkError && networkError.length === 3) {
      receipt.errorCode = `${networkError[0]}:${networkError.readUInt16BE(1)}`;
    }
    log.debug({ carrierMessageId: receipt.carrierMessageId, status: receipt.status }, 'receipt');
    await onReceipt(receipt);
    return 0;
  }

  async function handleMo(sm: RawSm): Promise<number> {
    if (!onMobileOriginated) {
      log.info('smpp MO received but no handler configured; acknowledged and dropped');
      return 0;
    }
    const payload = sm.shortMessage.length > 0 ? sm.shortMessage : sm.tlvs.get(Tlv.MESSAGE_PAYLOAD);
    let part: DecodedPart;
    try {
      part = decodeSmppPart(payload ?? Buffer.alloc(0), sm.dataCoding, (sm.esmClass & 0x40) !== 0);
    } catch (err) {
      log.warn({ err: (err as Error).message, dataCoding: sm.dataCoding }, 'smpp MO undecodable');
      return SmppStatus.ESME_RX_P_APPN;
    }
    const from = fromSmppAddress(sm.sourceAddrTon, sm.sourceAddr);
    const to = fromSmppAddress(sm.destAddrTon, sm.destinationAddr);
    if (!part.udh || part.udh.total <= 1) {
      await onMobileOriginated({ from, to, text: part.text });
      return 0;
    }
    const key = `${from}\u0000${to}\u0000${part.udh.ref}\u0000${part.udh.total}`;
    let buffer = moBuffers.get(key);
    if (!buffer) {
      const timer = setTimeout(() => {
        const expired = moBuffers.get(key);
        moBuffers.delete(key);
        log.warn({ parts: expired?.parts.size }, 'smpp concatenated MO incomplete; dropped');
      }, moReassemblyTimeoutMs);
      buffer = { parts: new Map(), timer };
      moBuffers.set(key, buffer);
    }
    buffer.parts.set(part.udh.seq, part);
    if (buffer.parts.size < part.udh.total) return 0;
    const text = reassemble([...buffer.parts.values()]);
    try {
      await onMobileOriginated({ from, to, text });
    } catch (err) {
      // Keep the siblings; the SMSC resends this last part and completes the message again.
      buffer.parts.delete(part.udh.seq);
      throw err;
    }
    clearTimeout(buffer.timer);
    moBuffers.delete(key);
    return 0;
  }

  // ---- the submit window ----

  function armDeadline(w: Waiter): void {
    if (w.timer || closed) return;
    w.timer = setTimeout(() => {
      const i = waiters.indexOf(w);
      if (i >= 0) waiters.splice(i, 1);
      w.reject(unavailable(`not bound within ${connectTimeoutMs} ms`));
    }, connectTimeoutMs);
  }

  function acquireSlot(): Promise<void> {
    if (closed) return Promise.reject(unavailable('adapter closed'));
    if (isBound() && outstanding < windowSize && waiters.length === 0) {
      outstanding++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const w: Waiter = { resolve, reject };
      waiters.push(w);
      if (!isBound()) armDeadline(w);
    });
  }

  function releaseSlot(): void {
    outstanding--;
    pump();
  }

  function pump(): void {
    while (isBound() && outstanding < windowSize) {
      const w = waiters.shift();
      if (!w) return;
      clearTimeout(w.timer);
      outstanding++;
      w.resolve();
    }
  }

  /**
   * Submits one part; while the SMSC throttles it, waits at this bind's lowered rate and sends it
   * again, for up to `throttleMaxWaitMs` and never past `notAfter`.
   */
  async function submitPart(fields: Record<string, unknown>, notAfter?: number): Promise<string> {
    const giveUpAt = Math.min(Date.now() + throttleMaxWaitMs, notAfter ?? Infinity);
    for (;;) {
      const delay = rate.reserve(Date.now());
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      try {
        const messageId = await submitOnce(fields, notAfter);
        rate.accepted();
        return messageId;
      } catch (err) {
        if (!(err instanceof CarrierError) || err.type !== CarrierErrorType.THROTTLED) throw err;
        rate.throttled(Date.now());
        log.debug({ perSecond: Math.round(rate.perSecond) }, 'smpp throttled; rate lowered');
        if (closed || Date.now() + 1000 / rate.perSecond >= giveUpAt) throw err;
      }
    }
  }

  async function submitOnce(fields: Record<string, unknown>, notAfter?: number): Promise<string> {
    await acquireSlot();
    try {
      const conn = current;
      if (!conn || !isBound()) throw unavailable('not bound');
      if (notAfter !== undefined) {
        // Never late: checked after the window wait, right before the part goes on the wire.
        const now = Date.now();
        if (now >= notAfter)
          throw new CarrierError(CarrierErrorType.VALIDITY_EXPIRED, name, 'validity ended');
        fields = {
          ...fields,
          validity_period: formatRelativeValidity(remainingValiditySeconds(notAfter, now)),
        };
      }
      let pdu: smpp.PDU;
      try {
        pdu = new smpp.PDU('submit_sm', fields);
      } catch {
        throw new CarrierError(CarrierErrorType.PERMANENT, name, 'submit_sm could not be built');
      }
      let resp: smpp.PDU;
      try {
        resp = await request(conn, pdu, submitTimeoutMs);
      } catch (err) {
        const kind = err instanceof RequestError ? err.kind : 'not-sent';
        if (kind === 'not-sent') throw unavailable('connection not writable');
        if (kind === 'timeout') {
          throw new CarrierError(
            CarrierErrorType.TRANSIENT,
            name,
            `no submit_sm_resp within ${submitTimeoutMs} ms`,
          );
        }
        throw new CarrierError(
          CarrierErrorType.TRANSIENT,
          name,
          'connection lost before submit_sm_resp',
        );
      }
      const status = resp.command_status;
      if (status !== 0) {
        const type = classifySmppStatus(status);
        throw new CarrierError(type, name, `submit_sm refused with ${smppStatusLabel(status)}`, {
          commandStatus: status,
          ...(type === CarrierErrorType.THROTTLED ? { retryAfterMs: throttleRetryAfterMs } : {}),
        });
      }
      const messageId = typeof resp.message_id === 'string' ? resp.message_id : '';
      if (!messageId) log.warn('smpp submit_sm_resp without message_id');
      return messageId;
    } finally {
      releaseSlot();
    }
  }

  async function submit(req: SubmitRequest, hooks?: SubmitHooks): Promise<SubmitResult> {
    if (closed) throw unavailable('adapter closed');
    let split: ReturnType<typeof splitForSmpp>;
    let validity = '';
    try {
      split = splitForSmpp(req.text, concatReference(req.messageId));
      if (req.validitySeconds !== undefined) {
        validity = formatRelativeValidity(req.validitySeconds);
      }
    } catch (err) {
      // RangeError messages from domain/encoding name counts only, never content.
      throw new CarrierError(CarrierErrorType.PERMANENT, name, (err as Error).message);
    }
    const source = toSmppAddress(req.from);
    const destination = toSmppAddress(req.to);
    const ids: string[] = [];
    for (const [index, shortMessage] of split.parts.entries()) {
      const acked = req.ackedParts?.[index];
      if (acked !== undefined) {
        ids.push(acked);
        continue;
      }
      const carrierMessageId = await submitPart(
        {
          source_addr_ton: source.ton,
          source_addr_npi: source.npi,
          source_addr: source.addr,
          dest_addr_ton: destination.ton,
          dest_addr_npi: destination.npi,
          destination_addr: destination.addr,
          esm_class: split.esmClass,
          registered_delivery: req.registeredDelivery ? 1 : 0,
          validity_period: validity,
          data_coding: split.dataCoding,
          short_message: shortMessage,
        },
        req.notAfter,
      );
      ids.push(carrierMessageId);
      log.debug({ messageId: req.messageId, part: index, carrierMessageId }, 'smpp part acked');
      await hooks?.onPartAcked?.(index, carrierMessageId);
    }
    log.info(
      { messageId: req.messageId, parts: split.parts.length, encoding: split.encoding },
      'smpp message submitted',
    );
    return { carrierMessageIds: ids, parts: split.parts.length, encoding: split.encoding };
  }

  function whenBound(timeoutMs = connectTimeoutMs): Promise<void> {
    if (isBound()) return Promise.resolve();
    if (closed) return Promise.reject(unavailable('adapter closed'));
    return new Promise((resolve, reject) => {
      const w = {
        resolve: (): void => {
          clearTimeout(timer);
          boundWaiters.delete(w);
          resolve();
        },
        reject: (err: CarrierError): void => {
          clearTimeout(timer);
          boundWaiters.delete(w);
          reject(err);
        },
      };
      const timer = setTimeout(
        () => w.reject(unavailable(`not bound within ${timeoutMs} ms`)),
        timeoutMs,
      );
      boundWaiters.add(w);
    });
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    clearTimeout(reconnectTimer);
    reconnectTimer = undefined;
    for (const w of waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(unavailable('adapter closed'));
    }
    for (const w of [...boundWaiters]) w.reject(unavailable('adapter closed'));
    for (const b of moBuffers.values()) clearTimeout(b.timer);
    moBuffers.clear();
    const conn = current;
    if (conn && isBound()) {
      try {
        await request(conn, new smpp.PDU('unbind'), Math.min(2_000, submitTimeoutMs));
      } catch {
        // closing anyway
      }
    }
    const closing = [...live];
    for (const c of closing) teardown(c);
    await Promise.all(closing.map((c) => c.closed));
    log.info('smpp adapter closed');
  }

  connect();

  return {
    name,
    get bound() {
      return isBound();
    },
    whenBound,
    submit,
    close,
  };
}
