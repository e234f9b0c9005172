/**
 * The session port: one bind to an SMSC as the rest of the adapter sees it. The real one is
 * socket-session.ts; unit tests pass a fake {@link SmppSessionFactory} to drive the window and
 * the submit without sockets.
 */
import type * as smpp from 'smpp';
import type { Logger } from 'pino';

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

/** Why a request got no response: nothing was written, no answer in time, or the link dropped. */
export type RequestFailure = 'not-sent' | 'timeout' | 'connection-lost';

/** Rejects {@link SmppSession.request}; `kind` tells whether the PDU may have reached the SMSC. */
export class RequestError extends Error {
  constructor(readonly kind: RequestFailure) {
    super(kind);
  }
}

/** Which SMSC to reach and as whom to bind. */
export interface SmppEndpoint {
  /** Carrier name, used in logs and in `CarrierError`s. */
  name: string;
  host: string;
  port: number;
  /** Connect over TLS (what a production SMSC link should be); unset = plain TCP. */
  tls?: SmppTlsOptions;
  systemId: string;
  password: string;
}

/** What the session needs to reach and bind to one SMSC (defaults resolved by the adapter). */
export interface SmppSessionOptions extends SmppEndpoint {
  systemType: string;
  /** Already a child logger naming the carrier. */
  log: Logger;
  submitTimeoutMs: number;
  enquireLinkMs: number;
  connectTimeoutMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
}

/** What the session tells the rest of the adapter. */
export interface SmppSessionEvents {
  /** A bind_transceiver succeeded: queued submits may go. */
  onBound(): void;
  /** The current connection ended (a rebind is scheduled unless closed): queued submits get deadlines. */
  onConnectionLost(): void;
  /**
   * A deliver_sm arrived (`body` its exact octets after command_length, when captured); resolves
   * to the command_status to answer with. Must not reject.
   */
  onDeliverSm(body: Buffer | undefined): Promise<number>;
}

/**
 * One bind to an SMSC that stays up by itself: connects, binds, keeps alive and rebinds after any
 * loss until closed. The submit logic sees only this interface, so it can be driven by a fake.
 */
export interface SmppSession {
  /** True while a bind_transceiver session is up. */
  readonly bound: boolean;
  /** Sends `pdu` on the current connection; rejects with a {@link RequestError}. */
  request(pdu: smpp.PDU, timeoutMs: number): Promise<smpp.PDU>;
  /** Resolves once bound; rejects UNAVAILABLE after `timeoutMs` or when closed. */
  whenBound(timeoutMs: number): Promise<void>;
  /** Unbinds politely when bound, ends every connection and stops rebinding. */
  close(): Promise<void>;
}

/** Opens an {@link SmppSession}; the adapter takes one, so tests can pass a fake without sockets. */
export type SmppSessionFactory = (
  options: SmppSessionOptions,
  events: SmppSessionEvents,
) => SmppSession;
