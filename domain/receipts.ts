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

/**
 * Validates an HTTP carrier receipt body `{ id, status, errorCode?, doneAt? }` (after
 * `verifyWebhook` accepted it).
 *
 * @throws TypeError naming the bad field (never its value).
 */
export function parseHttpReceipt(body: unknown): DeliveryReceipt {
  if (typeof body !== 'object' || body === null) throw new TypeError('receipt is not an object');
  const { id, status, errorCode, doneAt } = body as Record<string, unknown>;
  if (typeof id !== 'string' || id.length === 0 || id.length > 128) {
    throw new TypeError('receipt id is missing or invalid');
  }
  if (!isReceiptStatus(status)) {
    throw new TypeError('receipt status is missing or invalid');
  }
  const receipt: DeliveryReceipt = {
    carrierMessageId: id,
    status,
  };
  if (errorCode !== undefined) {
    if (typeof errorCode !== 'string' || errorCode.length > 64) {
      throw new TypeError('receipt errorCode is invalid');
    }
    receipt.errorCode = errorCode;
  }
  if (doneAt !== undefined) {
    if (typeof doneAt !== 'string' || Number.isNaN(Date.parse(doneAt))) {
      throw new TypeError('receipt doneAt is invalid');
    }
    receipt.doneAt = new Date(doneAt).toISOString();
  }
  return receipt;
}
