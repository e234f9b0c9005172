/** The simulated SMSC's public shapes and the state its units share. Dev and test tools only. */
import type * as smpp from 'smpp';
import type { Logger } from 'pino';
import type { ConcatInfo } from '../../../domain/encoding';
import type { RawTap } from '../../smpp/raw';

/** Final states the simulator can report in a receipt's `stat:` field. */
export type ReceiptStat =
  'DELIVRD' | 'UNDELIV' | 'EXPIRED' | 'REJECTD' | 'UNKNOWN' | 'DELETED' | 'ACCEPTD';

/** How the simulated SMSC answers; change it at run time with `setBehaviour`. */
export interface SmscBehaviour {
  /** Delay before each submit_sm_resp. Default 0. */
  latencyMs: number;
  /** Share (0–1) of submits answered with one of `transientErrorStatuses` at random. Default 0. */
  transientErrorRate: number;
  /** Statuses drawn by `transientErrorRate`. Default ESME_RSYSERR and ESME_RTHROTTLED. */
  transientErrorStatuses: readonly number[];
  /** Destinations answered ESME_RINVDSTADR. Default none. */
  permanentErrorFor: (destination: string) => boolean;
  /** Answer every submit ESME_RTHROTTLED. Default false. */
  throttle: boolean;
  /** Answer every n-th submit (counted from when it is set) ESME_RTHROTTLED; 0 = never. Default 0. */
  throttleEvery: number;
  /** Never answer submit_sm (to exercise client timeouts). Default false. */
  noSubmitResponse: boolean;
  /** Delay between submit_sm_resp and the receipt. Default 50 ms. */
  receiptDelayMs: number;
  /** Receipt outcome per destination. Default DELIVRD. */
  receiptOutcome: (destination: string) => ReceiptStat;
  /** The `err:` code of a receipt that is not DELIVRD/ACCEPTD, per destination. Default `001`. */
  receiptErrorCode: (destination: string) => string;
  /** Send no receipts at all. Default false. */
  dropReceipts: boolean;
}

/** Options of {@link startSmscSimulator}. */
export interface SmscSimulatorOptions {
  /** TCP port; 0 (default) picks an ephemeral one, see `SmscSimulator.port`. */
  port?: number;
  host?: string;
  /** Serve SMPP over TLS with this PEM certificate and key (plain TCP when unset). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  log: Logger;
  /** When set, binds must present this system_id … */
  systemId?: string;
  /** … and this password. */
  password?: string;
  /** Initial behaviour (also accepted as `rules`). */
  behaviour?: Partial<SmscBehaviour>;
  rules?: Partial<SmscBehaviour>;
  /** Seed of the RNG behind `transientErrorRate` and message ids, for reproducible runs. */
  seed?: number;
}

/** One submit_sm as the simulator received it (plaintext: test/dev use only). */
export interface ReceivedPart {
  /** The message_id the simulator assigned ('' when it refused the part). */
  messageId: string;
  /** command_status it answered (0 = accepted). */
  commandStatus: number;
  sessionId: number;
  /** Addresses as E.164 (`+` restored for international TON) or as sent. */
  source: string;
  destination: string;
  dataCoding: number;
  esmClass: number;
  registeredDelivery: number;
  validityPeriod: string;
  shortMessage: Buffer;
  /** Decoded text of this part ('' when undecodable). */
  text: string;
  udh?: ConcatInfo;
  receivedAt: number;
}

/** Accepted parts joined back into messages. */
export interface SimulatedMessage {
  source: string;
  destination: string;
  text: string;
  encoding: 'GSM7' | 'UCS2';
  dataCoding: number;
  parts: number;
  messageIds: string[];
  /** Concatenation reference, for multi-part messages. */
  ref?: number;
  /** False while parts are missing (then `text` joins only what arrived). */
  complete: boolean;
}

/** Counters for assertions. */
export interface SmscStats {
  binds: number;
  boundSessions: number;
  submits: number;
  /** Submits received and not yet answered, now and at most (per session). */
  outstanding: number;
  maxOutstanding: number;
  enquireLinksAnswered: number;
  receiptsSent: number;
  receiptsAcked: number;
  moSent: number;
}

/** A running simulated SMSC, see {@link startSmscSimulator}. */
export interface SmscSimulator {
  readonly port: number;
  readonly host: string;
  readonly received: ReceivedPart[];
  messages(): SimulatedMessage[];
  setBehaviour(patch: Partial<SmscBehaviour>): void;
  stats(): SmscStats;
  /**
   * Sends a mobile-originated message (split and encoded like a handset would: GSM7 or UCS2,
   * concatenated when long) to one bound receiver session (round robin). Resolves with the
   * command_status of the last deliver_sm_resp; rejects when no session is bound.
   */
  sendMo(mo: { from: string; to: string; text: string }): Promise<number>;
  /** Sends an arbitrary deliver_sm (smpp PDU fields) to one bound receiver session. */
  sendDeliverSm(fields: Record<string, unknown>): Promise<number>;
  /** Sends enquire_link on every bound session; resolves with how many were answered. */
  enquireLinkAll(timeoutMs?: number): Promise<number>;
  /**
   * An outage: stops listening and drops every session (their sockets closed, as when the SMSC's
   * host goes away), keeping what it stores (received parts, receipts not yet delivered) for
   * {@link resume}. New connections are refused meanwhile.
   */
  suspend(): Promise<void>;
  /** Ends an outage: listens again on the same port; queued receipts go to the next binds. */
  resume(): Promise<void>;
  /** Stops listening, drops every session and timer. */
  close(): Promise<void>;
}

export type BindMode = 'transceiver' | 'transmitter' | 'receiver';

/** One client connection to the simulator. */
export interface SimSession {
  id: number;
  session: smpp.Session;
  tap: RawTap;
  mode?: BindMode;
  systemId?: string;
  outstanding: number;
  pending: Map<number, (pdu: smpp.PDU | undefined) => void>;
  ended: boolean;
}

/** A receipt waiting for (or being delivered to) a receiver session. */
export interface PendingReceipt {
  systemId: string | undefined;
  preferredSession: number;
  fields: Record<string, unknown>;
  attempts: number;
}
