/**
 * The carrier port: what the dispatch activity needs from any carrier, whatever its protocol.
 *
 * Adapters receive the recipient and the body in plaintext because they run inside the dispatch
 * activity, which decrypts just in time; an adapter must never log, persist or echo them (not in
 * log lines, not in error messages).
 */

/** One message to submit. */
export interface SubmitRequest {
  /**
   * Our message id (e.g. `msg_<ulid>`). Drives the concatenation reference (so a retried
   * multi-part message reuses the same reference) and the HTTP carriers' idempotency key.
   */
  messageId: string;
  /** Recipient, E.164 plaintext (`+4915112345678`), decrypted just in time by the caller. */
  to: string;
  /** Sender: an E.164 number, a short code or an alphanumeric sender id. */
  from: string;
  /** Message body, plaintext. */
  text: string;
  /** Ask the carrier for a delivery receipt. */
  registeredDelivery: boolean;
  /** Validity period in seconds; the carrier drops the message when it cannot deliver in time. */
  validitySeconds?: number;
  /**
   * Epoch ms after which nothing may be submitted (the end of the message's validity). A part not
   * yet on the wire by then fails with `CARRIER_VALIDITY_EXPIRED`; when set, the validity period
   * sent to the carrier is the time left at the moment each part goes out, not `validitySeconds`.
   */
  notAfter?: number;
  /** Which try of this submit this is (1 = first); only the test-number answers look at it. */
  attempt?: number;
  /**
   * Parts already acknowledged by the carrier in a previous attempt (part index → carrier message
   * id, as reported by `onPartAcked`). They are not submitted again; their ids are reused in the
   * result. This is how a retry after a partial failure avoids sending a part twice.
   */
  ackedParts?: Readonly<Record<number, string>>;
}

/** The carrier accepted every part. */
export interface SubmitResult {
  /** One id per part, in part order; delivery receipts refer to these. */
  carrierMessageIds: string[];
  parts: number;
  encoding: 'GSM7' | 'UCS2';
}

/** A carrier's report on one submitted part (defined with the receipt statuses in domain/). */
export type { DeliveryReceipt } from '../domain/receipts';

/** Hooks called while a submit is in progress. */
export interface SubmitHooks {
  /**
   * Called after the carrier acknowledged one part (SMPP submit_sm_resp OK, HTTP 2xx). Record it
   * durably (e.g. activity heartbeat) so a retry passes it back as `ackedParts`. Awaited before
   * the next part is sent.
   */
  onPartAcked?(index: number, carrierMessageId: string): void | Promise<void>;
}

/** A carrier connection. Throws {@link CarrierError} (see `./errors`) on every failure. */
export interface CarrierAdapter {
  readonly name: string;
  submit(req: SubmitRequest, hooks?: SubmitHooks): Promise<SubmitResult>;
  /** Releases connections and timers; further submits reject as UNAVAILABLE. */
  close(): Promise<void>;
}
