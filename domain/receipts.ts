/**
 * Delivery receipts: a carrier's report on one submitted part, whatever its protocol (SMPP
 * `deliver_sm`, an HTTP webhook). Carriers map their own words onto these statuses; the workflow
 * waits for a final one per part.
 */

/** Every status a receipt can report, in the carrier port's words. */
export const RECEIPT_STATUSES = [
  'delivered',
  'undeliverable',
  'expired',
  'rejected',
  'unknown',
  'deleted',
  'accepted',
] as const;
export type ReceiptStatus = (typeof RECEIPT_STATUSES)[number];

/** The receipt statuses that are final for a part; only `accepted` (en route) is not. */
export const FINAL_RECEIPT_STATUSES: ReadonlySet<string> = new Set<ReceiptStatus>(
  RECEIPT_STATUSES.filter((s) => s !== 'accepted'),
);

/** True when `value` is one of {@link RECEIPT_STATUSES}. */
export const isReceiptStatus = (value: unknown): value is ReceiptStatus =>
  (RECEIPT_STATUSES as readonly unknown[]).includes(value);

/** Final (or intermediate, for `accepted`) state of one submitted part, as the carrier reports it. */
export interface DeliveryReceipt {
  carrierMessageId: string;
  status: ReceiptStatus;
  /** Carrier-specific error code (SMPP `err:` field / network error code), when given. */
  errorCode?: string;
  /** ISO 8601 time the carrier reports the final state was reached, when given. */
  doneAt?: string;
}
