/** SMPP 3.4 field helpers shared by the client and the simulator. */

/** SMPP command ids we dispatch on. */
export const CommandId = {
  SUBMIT_SM: 0x00000004,
  DELIVER_SM: 0x00000005,
} as const;

/** esm_class bits (SMPP 3.4 §5.2.12). */
export const EsmClass = {
  /** Message type "SMSC delivery receipt". */
  DELIVERY_RECEIPT: 0x04,
  /** short_message starts with a user data header. */
  UDHI: 0x40,
} as const;

/**
 * SMPP relative time (§7.1.1) for `validity_period`: `YYMMDDhhmmss000R`, where the fields are
 * amounts of years, months, days, hours, minutes and seconds from now. Days are folded into
 * months of 30 and years of 365 days; seconds are floored.
 *
 * @throws RangeError when `seconds` is not a positive finite number or exceeds 99 years.
 */
export function formatRelativeValidity(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 1) {
    throw new RangeError('validity must be at least one second');
  }
  let rest = Math.floor(seconds);
  const ss = rest % 60;
  rest = Math.floor(rest / 60);
  const mi = rest % 60;
  rest = Math.floor(rest / 60);
  const hh = rest % 24;
  let days = Math.floor(rest / 24);
  const yy = Math.floor(days / 365);
  days %= 365;
  const mo = Math.floor(days / 30);
  const dd = days % 30;
  if (yy > 99) throw new RangeError('validity exceeds 99 years');
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(yy)}${two(mo)}${two(dd)}${two(hh)}${two(mi)}${two(ss)}000R`;
}

/**
 * Parses a relative SMPP time back to seconds (same folding as {@link formatRelativeValidity});
 * undefined for an empty or absolute time.
 */
export function parseRelativeValidity(value: string): number | undefined {
  const m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})\d{3}R$/.exec(value);
  if (!m) return undefined;
  const [yy, mo, dd, hh, mi, ss] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return (((yy * 365 + mo * 30 + dd) * 24 + hh) * 60 + mi) * 60 + ss;
}

/** An SMPP address with its type of number and numbering plan. */
export interface SmppAddress {
  ton: number;
  npi: number;
  addr: string;
}

/**
 * Maps a sender/recipient to SMPP TON/NPI: `+E.164` → international/ISDN without the `+`;
 * digits only → unknown/ISDN (short codes, national numbers); anything else → alphanumeric.
 */
export function toSmppAddress(value: string): SmppAddress {
  if (/^\+\d{1,20}$/.test(value)) return { ton: 1, npi: 1, addr: value.slice(1) };
  if (/^\d{1,21}$/.test(value)) return { ton: 0, npi: 1, addr: value };
  return { ton: 5, npi: 0, addr: value };
}

/** The inverse of {@link toSmppAddress} for received addresses: international TON gets a `+`. */
export function fromSmppAddress(ton: number, addr: string): string {
  return ton === 1 && /^\d+$/.test(addr) ? `+${addr}` : addr;
}

/**
 * Concatenation reference for a message (0–255), derived from its id (FNV-1a), so every retry
 * of the same message uses the same reference and the handset can still join the parts.
 */
export function concatReference(messageId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < messageId.length; i++) {
    hash ^= messageId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash ^ (hash >>> 8) ^ (hash >>> 16) ^ (hash >>> 24)) & 0xff;
}
