/**
 * The statuses of a message, as the workflow, the API, PostgreSQL and the `MessageStatus` search
 * attribute name them. Receipt statuses (a carrier's word for one part) are in domain/receipts.ts.
 */

/** Every status a message can have; the final ones end its workflow. */
export const MessageStatus = {
  ACCEPTED: 'accepted',
  TOKENIZED: 'tokenized',
  /** Waiting durably for its `sendAt` time (scheduling). */
  SCHEDULED: 'scheduled',
  /** Held by a country velocity rule until the window allows it (policy). */
  HELD: 'held',
  /** Waiting for a pre-send human review decision (review). */
  IN_REVIEW: 'in_review',
  ROUTED: 'routed',
  SUBMITTED: 'submitted',
  DELIVERED: 'delivered',
  UNDELIVERED: 'undelivered',
  /** Submitted, but no final receipt arrived within the receipt timeout. */
  UNCONFIRMED: 'unconfirmed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  /** The subject opted out of this tenant's messages; never dispatched (retention and opt-out). */
  SUPPRESSED: 'suppressed',
  /** A pre-send reviewer rejected it; never dispatched (review). */
  REJECTED_BY_REVIEW: 'rejected_by_review',
  /** Not dispatched within its validity; never sent late (scheduling). */
  EXPIRED: 'expired',
} as const;
export type MessageStatus = (typeof MessageStatus)[keyof typeof MessageStatus];

/** The statuses that end a message's workflow. */
export const FINAL_STATUSES: readonly MessageStatus[] = [
  MessageStatus.DELIVERED,
  MessageStatus.UNDELIVERED,
  MessageStatus.UNCONFIRMED,
  MessageStatus.FAILED,
  MessageStatus.CANCELLED,
  MessageStatus.SUPPRESSED,
  MessageStatus.REJECTED_BY_REVIEW,
  MessageStatus.EXPIRED,
];

/**
 * The statuses the `MessageStatus` search attribute takes: those a message can stay in (a durable wait
 * or the end). `tokenized` and `routed` last milliseconds; indexing them would cost the server a
 * visibility write each for nothing an operator could filter on. They stay in the status query, the
 * API's history and PostgreSQL.
 */
export const INDEXED_STATUSES: readonly MessageStatus[] = [
  MessageStatus.ACCEPTED,
  MessageStatus.SCHEDULED,
  MessageStatus.HELD,
  MessageStatus.IN_REVIEW,
  MessageStatus.SUBMITTED,
  ...FINAL_STATUSES,
];
