import * as smpp from 'smpp';
import type { Logger } from 'pino';
import { CarrierError, CarrierErrorType, SmppStatus, smppStatusLabel } from '../errors';
import { CommandId } from './fields';
import { attachRawTap, type RawTap } from './raw';
import {
  RequestError,
  type SmppSession,
  type SmppSessionEvents,
  type SmppSessionFactory,
  type SmppSessionOptions,
} from './session';

/** The real session over TCP (or TLS) with the `smpp` library; starts connecting at once. */
export const openSmppSession: SmppSessionFactory = (options, events) => {
  const session = new SocketSession(options, events);
  session.connect();
  return session;
};

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

interface BoundWaiter {
  resolve(): void;
  reject(err: CarrierError): void;
}

/** The `smpp` 0.5 client with our own request timeouts (its callbacks never time out). */
class SocketSession implements SmppSession {
  private closed = false;
  private current: Connection | undefined;
  private connectionCount = 0;
  private failedAttempts = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly boundWaiters = new Set<BoundWaiter>();
  private readonly live = new Set<Connection>();
  private readonly log: Logger;

  constructor(
    private readonly options: SmppSessionOptions,
    private readonly events: SmppSessionEvents,
  ) {
    this.log = options.log;
  }

  get bound(): boolean {
    return this.current?.bound === true && !this.current.ended;
  }

  request(pdu: smpp.PDU, timeoutMs: number): Promise<smpp.PDU> {
    const conn = this.current;
    if (!conn) return Promise.reject(new RequestError('not-sent'));
    return this.requestOn(conn, pdu, timeoutMs);
  }

  whenBound(timeoutMs: number): Promise<void> {
    if (this.bound) return Promise.resolve();
    if (this.closed) return Promise.reject(this.unavailable('adapter closed'));
    return new Promise((resolve, reject) => {
      const w: BoundWaiter = {
        resolve: (): void => {
          clearTimeout(timer);
          this.boundWaiters.delete(w);
          resolve();
        },
        reject: (err: CarrierError): void => {
          clearTimeout(timer);
          this.boundWaiters.delete(w);
          reject(err);
        },
      };
      const timer = setTimeout(
        () => w.reject(this.unavailable(`not bound within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.boundWaiters.add(w);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    for (const w of [...this.boundWaiters]) w.reject(this.unavailable('adapter closed'));
    const conn = this.current;
    if (conn && this.bound) {
      try {
        const timeoutMs = Math.min(2_000, this.options.submitTimeoutMs);
        await this.requestOn(conn, new smpp.PDU('unbind'), timeoutMs);
      } catch {
        // closing anyway
      }
    }
    const closing = [...this.live];
    for (const c of closing) this.teardown(c);
    await Promise.all(closing.map((c) => c.closed));
  }

  /** Opens a new connection (TLS when configured) and binds once it is up. */
  connect(): void {
    this.reconnectTimer = undefined;
    if (this.closed) return;
    const { host, port, tls, connectTimeoutMs } = this.options;
    const id = ++this.connectionCount;
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
    this.current = conn;
    this.live.add(conn);
    this.log.debug({ connection: id }, 'smpp connecting');

    const connectTimer = setTimeout(() => {
      if (!conn.bound) {
        this.log.warn({ connection: id }, 'smpp connect/bind timed out');
        this.teardown(conn);
      }
    }, connectTimeoutMs);
    conn.timers.push(connectTimer);

    // Over TLS, bind only once the handshake (and the certificate check) is done.
    session.on(tls ? 'secureConnect' : 'connect', () => {
      void this.bind(conn);
    });
    session.on('pdu', (pdu: smpp.PDU) => this.onPdu(conn, pdu));
    session.on('error', (err: NodeJS.ErrnoException) => {
      this.log.warn({ connection: id, code: err.code }, 'smpp session error');
      this.teardown(conn);
    });
    session.on('close', () => {
      this.teardown(conn);
      this.live.delete(conn);
      markClosed();
    });
  }

  private requestOn(conn: Connection, pdu: smpp.PDU, timeoutMs: number): Promise<smpp.PDU> {
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

  private reply(conn: Connection, pdu: smpp.PDU, commandStatus = 0): void {
    if (conn.ended) return;
    try {
      conn.session.send(pdu.response(commandStatus ? { command_status: commandStatus } : {}));
    } catch {
      this.log.warn({ command: pdu.command }, 'smpp could not answer PDU');
    }
  }

  private async bind(conn: Connection): Promise<void> {
    const { systemId, password, systemType, connectTimeoutMs } = this.options;
    const pdu = new smpp.PDU('bind_transceiver', {
      system_id: systemId,
      password,
      system_type: systemType,
      interface_version: 0x34,
    });
    let resp: smpp.PDU;
    try {
      resp = await this.requestOn(conn, pdu, connectTimeoutMs);
    } catch (err) {
      this.log.warn(
        { connection: conn.id, reason: (err as RequestError).kind },
        'smpp bind failed',
      );
      this.teardown(conn);
      return;
    }
    if (resp.command_status !== 0) {
      this.log.error(
        { connection: conn.id, commandStatus: smppStatusLabel(resp.command_status) },
        'smpp bind refused',
      );
      this.teardown(conn);
      return;
    }
    if (conn.ended) return;
    conn.bound = true;
    this.failedAttempts = 0;
    this.log.info({ connection: conn.id }, 'smpp bound');
    this.startKeepAlive(conn);
    this.events.onBound();
    for (const w of [...this.boundWaiters]) w.resolve();
  }

  private startKeepAlive(conn: Connection): void {
    const { enquireLinkMs, submitTimeoutMs } = this.options;
    let inFlight = false;
    const timer = setInterval(() => {
      if (inFlight || conn.ended) return;
      inFlight = true;
      const enquireLink = new smpp.PDU('enquire_link');
      this.requestOn(conn, enquireLink, Math.min(enquireLinkMs, submitTimeoutMs)).then(
        () => {
          inFlight = false;
        },
        (err: RequestError) => {
          inFlight = false;
          this.log.warn({ connection: conn.id, reason: err.kind }, 'smpp enquire_link failed');
          this.teardown(conn);
        },
      );
    }, enquireLinkMs);
    conn.timers.push(timer);
  }

  /** Ends a connection once: fails its requests, tells the window, schedules a rebind. */
  private teardown(conn: Connection): void {
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
    if (this.current !== conn) return;
    this.current = undefined;
    if (wasBound) this.log.warn({ connection: conn.id }, 'smpp connection lost');
    this.events.onConnectionLost();
    if (this.closed) return;
    const { reconnectMinMs, reconnectMaxMs } = this.options;
    const delay = Math.min(reconnectMaxMs, reconnectMinMs * 2 ** this.failedAttempts);
    this.failedAttempts = Math.min(this.failedAttempts + 1, 30);
    const jittered = Math.round(delay * (0.75 + Math.random() * 0.25));
    this.log.debug({ delayMs: jittered }, 'smpp rebind scheduled');
    this.reconnectTimer = setTimeout(() => this.connect(), jittered);
  }

  private onPdu(conn: Connection, pdu: smpp.PDU): void {
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
        this.reply(conn, pdu);
        return;
      case 'deliver_sm': {
        const body = conn.tap.take(CommandId.DELIVER_SM, pdu.sequence_number);
        void this.events.onDeliverSm(body).then(
          (status) => this.reply(conn, pdu, status),
          () => this.reply(conn, pdu, SmppStatus.ESME_RX_T_APPN),
        );
        return;
      }
      case 'unbind':
        this.log.info({ connection: conn.id }, 'smpp unbind requested by SMSC');
        this.reply(conn, pdu);
        conn.session.close();
        return;
      case 'unknown':
        this.reply(conn, pdu); // generic_nack ESME_RINVCMDID
        return;
      case 'alert_notification':
        return; // has no response PDU
      default:
        this.reply(conn, pdu, 0x03 /* ESME_RINVCMDID: not supported by this ESME */);
    }
  }

  private unavailable(why: string): CarrierError {
    return new CarrierError(CarrierErrorType.UNAVAILABLE, this.options.name, why);
  }
}
