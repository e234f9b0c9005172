/**
 * Error types: the `ApplicationFailure.type` strings activities throw. Retry policies
 * (`nonRetryableErrorTypes`) and workflows match on these strings, never on `instanceof`, because a
 * failure crosses the workflow sandbox and the server as data.
 */

/**
 * How a carrier failure should be handled. Values are stable strings, safe to use as Temporal
 * `ApplicationFailure` types and in `nonRetryableErrorTypes`.
 */
export const CarrierErrorType = {
  /** Retry the same carrier with backoff (system error, timeout, ambiguous outcome). */
  TRANSIENT: 'CARRIER_TRANSIENT',
  /** The carrier asks us to slow down; retry after `retryAfterMs` when given. */
  THROTTLED: 'CARRIER_THROTTLED',
  /** Retrying this message on this carrier will not help (bad destination, bad data); fail over. */
  PERMANENT: 'CARRIER_PERMANENT',
  /** The carrier is not reachable (not bound, connection refused); nothing was sent; fail over. */
  UNAVAILABLE: 'CARRIER_UNAVAILABLE',
  /** The message's validity ended before (the rest of) it was submitted; nothing more was sent. Do not retry. */
  VALIDITY_EXPIRED: 'CARRIER_VALIDITY_EXPIRED',
  /** The recipient opted out of messages (a carrier's or a test number's answer). Do not retry or fail over. */
  OPTED_OUT: 'CARRIER_OPTED_OUT',
} as const;
export type CarrierErrorType = (typeof CarrierErrorType)[keyof typeof CarrierErrorType];

/** Every error type the activities throw: the carrier's, then the pipeline's own. */
export const ErrorType = {
  CARRIER_TRANSIENT: CarrierErrorType.TRANSIENT,
  CARRIER_THROTTLED: CarrierErrorType.THROTTLED,
  CARRIER_PERMANENT: CarrierErrorType.PERMANENT,
  CARRIER_UNAVAILABLE: CarrierErrorType.UNAVAILABLE,
  /** The message's validity ended before it was (fully) submitted: it must not be sent late. */
  VALIDITY_EXPIRED: CarrierErrorType.VALIDITY_EXPIRED,
  /** The recipient opted out (a carrier's answer, or the opted-out test number): never retried. */
  RECIPIENT_OPTED_OUT: CarrierErrorType.OPTED_OUT,
  NO_SENDER_AVAILABLE: 'NO_SENDER_AVAILABLE',
  /** The message's personal data is gone (purged or erased): nothing left to send. */
  MESSAGE_PURGED: 'MESSAGE_PURGED',
  /** An erasure of the subject was requested after the message was accepted: it must not be sent. */
  MESSAGE_ERASED: 'MESSAGE_ERASED',
  /** A client callback URL answered 4xx: retrying cannot help. */
  CALLBACK_REJECTED: 'CALLBACK_REJECTED',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];
