/**
 * Test numbers: destinations that never leave the system. The carrier layer answers them itself,
 * in every configuration (production included), so client developers can exercise every outcome
 * of their integration without sending a real SMS. They lie in Ofcom's range reserved for drama
 * (+44 7700 900000–900999), which no subscriber can ever hold.
 */

/** How the carrier layer answers a test number. */
export const TestNumberBehaviour = {
  /** Accepted, then a `delivered` receipt shortly after: ends `delivered`. */
  SUCCESS: 'success',
  /** The first submit is refused with a transient error; the retry succeeds: ends `delivered` after 2 attempts. */
  TRANSIENT_FAILURE: 'transient_failure',
  /** Every carrier refuses it as an invalid destination: ends `failed`, reason `CARRIER_PERMANENT`. */
  PERMANENT_FAILURE: 'permanent_failure',
  /** Accepted; the `delivered` receipt comes only after {@link DELAYED_RECEIPT_MS}: stays `submitted` until then. */
  DELAYED_RECEIPT: 'delayed_receipt',
  /** The subscriber has opted out: never dispatched, ends `suppressed`, reason `opted_out`. */
  OPTED_OUT: 'opted_out',
} as const;
export type TestNumberBehaviour = (typeof TestNumberBehaviour)[keyof typeof TestNumberBehaviour];

/** The documented test numbers (E.164) and their behaviour. */
export const TEST_NUMBERS: Readonly<Record<string, TestNumberBehaviour>> = Object.freeze({
  '+447700900100': TestNumberBehaviour.SUCCESS,
  '+447700900101': TestNumberBehaviour.TRANSIENT_FAILURE,
  '+447700900102': TestNumberBehaviour.PERMANENT_FAILURE,
  '+447700900103': TestNumberBehaviour.DELAYED_RECEIPT,
  '+447700900104': TestNumberBehaviour.OPTED_OUT,
});

/** How long the delayed-receipt test number waits before its `delivered` receipt. */
export const DELAYED_RECEIPT_MS = 10_000;

/**
 * A test number as the API's recipient check would give it. The drama range is not a valid number
 * for libphonenumber (no subscriber can hold it), which is exactly why it is safe here; so the API
 * recognises the test numbers first, in their exact E.164 form. Undefined for every other input.
 */
export function testNumberRecipient(
  raw: string,
): { ok: true; e164: string; country: string; callingCode: string } | undefined {
  const e164 = raw.trim();
  return testNumberBehaviour(e164)
    ? { ok: true, e164, country: 'GB', callingCode: '44' }
    : undefined;
}

/** The behaviour of a test number (E.164), or undefined for every other number. */
export function testNumberBehaviour(e164: string): TestNumberBehaviour | undefined {
  return Object.prototype.hasOwnProperty.call(TEST_NUMBERS, e164) ? TEST_NUMBERS[e164] : undefined;
}
