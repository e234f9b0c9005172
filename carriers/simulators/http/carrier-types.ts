/** The simulated HTTP carrier's public shapes. Dev and test tools only. */
import type { Logger } from 'pino';
import type { DeliveryReceipt } from '../../types';

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
