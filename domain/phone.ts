/**
 * Recipient phone numbers: validation at the edge, and the only redacted forms that may leave
 * the vault (calling code plus the last two digits).
 *
 * Uses libphonenumber's full metadata (`/max`) because the smaller sets cannot tell a mobile
 * number from a landline, and sending SMS to landlines wastes money and fails late.
 */
import { parsePhoneNumberFromString, type NumberType } from 'libphonenumber-js/max';

/** A recipient accepted for SMS; `e164` is the only form stored (encrypted) and sent. */
export interface NormalizedRecipient {
  ok: true;
  /** Canonical `+<digits>`, no spaces. */
  e164: string;
  /** ISO 3166-1 alpha-2 region, e.g. `GB`; drives routing and country rules. */
  country: string;
  /** Digits only, without `+`, e.g. `44`. */
  callingCode: string;
}

/**
 * Why a recipient was refused: `invalid` (not a dialable international number) or
 * `not_mobile` (a real number that cannot receive SMS, such as a landline or toll-free line).
 */
export type RecipientRejection = { ok: false; reason: 'invalid' | 'not_mobile' };

/** The result of {@link normalizeRecipient}. */
export type RecipientResult = NormalizedRecipient | RecipientRejection;

// Visual separators people paste are fine; letters, extensions and national (no '+') forms
// are not, since we have no default country to guess from.
const INTERNATIONAL_INPUT = /^\+[0-9 ()\-.]+$/;
const MAX_INPUT_LENGTH = 32;
const SMS_CAPABLE: ReadonlySet<NumberType> = new Set(['MOBILE', 'FIXED_LINE_OR_MOBILE']);

/**
 * Validates a recipient given in international form (`+` then digits; spaces, dashes, dots
 * and parentheses allowed) and returns its E.164 form.
 *
 * A number whose type libphonenumber knows must be MOBILE or FIXED_LINE_OR_MOBILE (the US and
 * some other plans cannot tell the two apart); a valid number of unknown type is accepted.
 * Non-geographic numbers (+800, +882, …) are refused as `not_mobile`: they have no country
 * to route or apply rules by. Extensions are `invalid`.
 */
export function normalizeRecipient(raw: string): RecipientResult {
  const input = raw.trim();
  if (input.length > MAX_INPUT_LENGTH || !INTERNATIONAL_INPUT.test(input)) {
    return { ok: false, reason: 'invalid' };
  }
  const parsed = parsePhoneNumberFromString(input, { extract: false });
  if (!parsed || parsed.ext || !parsed.isValid()) return { ok: false, reason: 'invalid' };
  const type = parsed.getType();
  if (!parsed.country || (type !== undefined && !SMS_CAPABLE.has(type))) {
    return { ok: false, reason: 'not_mobile' };
  }
  return {
    ok: true,
    e164: parsed.number,
    country: parsed.country,
    callingCode: parsed.countryCallingCode,
  };
}

const E164 = /^\+[1-9][0-9]{5,14}$/;

/**
 * The display form of a number for anyone but the sending tenant, e.g. `+86•••••••••00`:
 * calling code and last two digits, one bullet per hidden digit. Anything that is not E.164
 * gives `[number]`, so a bad input can never leak through this function.
 */
export function redactNumber(e164: string): string {
  if (!E164.test(e164)) return '[number]';
  const callingCode = parsePhoneNumberFromString(e164)?.countryCallingCode ?? '';
  const digits = e164.slice(1);
  const hidden = digits.length - callingCode.length - 2;
  return `+${callingCode}${'•'.repeat(Math.max(hidden, 0))}${digits.slice(-2)}`;
}

/**
 * The last two digits of a number: with the country, all the API and reviewers may see.
 * Returns an empty string when there are fewer than two digits.
 */
export function lastTwo(e164: string): string {
  const digits = e164.replace(/\D/g, '');
  return digits.length >= 2 ? digits.slice(-2) : '';
}
