/**
 * Policy as pure decisions: country rules against SMS pumping, OTP velocity windows, the
 * price of a message and the spend-cap check. Money is handled in integer micro-units (1e-6 of the
 * billing currency) so sums never drift; the database stores numeric(…, 6).
 */

/** What a tenant's rule does with messages to one destination country. Unlisted countries are allowed. */
export const CountryAction = { ALLOW: 'allow', BLOCK: 'block', MONITOR: 'monitor' } as const;
export type CountryAction = (typeof CountryAction)[keyof typeof CountryAction];

/** What happens to an OTP above the country's velocity limit. */
export const OverLimit = { REFUSE: 'refuse', HOLD: 'hold' } as const;
export type OverLimit = (typeof OverLimit)[keyof typeof OverLimit];

export interface CountryRule {
  country: string;
  action: CountryAction;
  /** At most this many OTPs per velocity window to this country; undefined = no limit. */
  otpPerWindow?: number;
  overLimit: OverLimit;
}

/** The rule decision for one message before velocity is counted. */
export type CountryDecision =
  | { kind: 'blocked'; country: string }
  | {
      kind: 'allowed';
      action: 'allow' | 'monitor';
      /** Set when this message must pass the OTP velocity limit. */
      velocity?: { limit: number; overLimit: OverLimit };
    };

/**
 * Applies the tenant's rule for `country` (none = allow). Only OTPs are counted against the
 * velocity limit: pumping fraud targets one-time-code flows.
 */
export function evaluateCountryRule(
  rule: CountryRule | undefined,
  country: string,
  purpose: string,
): CountryDecision {
  if (!rule) return { kind: 'allowed', action: 'allow' };
  if (rule.action === CountryAction.BLOCK) return { kind: 'blocked', country };
  const velocity =
    purpose === 'otp' && rule.otpPerWindow !== undefined
      ? { limit: rule.otpPerWindow, overLimit: rule.overLimit }
      : undefined;
  return { kind: 'allowed', action: rule.action, velocity };
}

/** Start (epoch ms) of the velocity window holding `at`, `k` windows later. */
export const windowStart = (at: number, windowMs: number, k = 0) =>
  Math.floor(at / windowMs) * windowMs + k * windowMs;

/** How far ahead (in windows) a held OTP may be placed before it is refused instead. */
export const MAX_HOLD_WINDOWS = 60;

// ---------------------------------------------------------------------------------------------
// Prices

/** Micro-units per unit of the billing currency. */
export const MICROS = 1_000_000;

/** Parses a decimal amount (a number or PostgreSQL numeric text) into micro-units. */
export const toMicros = (amount: number | string): number => Math.round(Number(amount) * MICROS);

/** Micro-units back to an amount, for JSON answers. */
export const fromMicros = (micros: number): number => micros / MICROS;

/** One row of the price table. `tenant` '*' is the platform list; `country` '*' any destination. */
export interface PriceRow {
  tenant: string;
  carrier: string;
  country: string;
  /** Price per segment, in micro-units. */
  perSegment: number;
}

/**
 * The price per segment of `carrier` to `country` for `tenant`: the most specific row wins — the
 * tenant's row for the country, the tenant's carrier default, the platform's row for the country,
 * the platform's carrier default. Undefined when none exists.
 */
export function resolveUnitPrice(
  rows: readonly PriceRow[],
  tenant: string,
  carrier: string,
  country: string,
): number | undefined {
  const order: [string, string][] = [
    [tenant, country],
    [tenant, '*'],
    ['*', country],
    ['*', '*'],
  ];
  for (const [t, c] of order) {
    const row = rows.find((r) => r.carrier === carrier && r.tenant === t && r.country === c);
    if (row) return row.perSegment;
  }
  return undefined;
}

/** The quoted price of a message: its primary route's carrier, price per segment and total. */
export interface Quote {
  /** The carrier the price is quoted on (the first eligible); undefined when none serves the country. */
  carrier?: string;
  perSegment?: number;
  /** segments x perSegment, in micro-units; undefined when no price is known for the route. */
  price?: number;
}

/**
 * Quotes a message on its primary route (the first eligible carrier). The tenant is charged this
 * quote whichever carrier finally takes the message: failover is the platform's cost.
 */
export function quote(
  rows: readonly PriceRow[],
  tenant: string,
  carriers: readonly string[],
  country: string,
  segments: number,
): Quote {
  const carrier = carriers[0];
  if (carrier === undefined) return {};
  const perSegment = resolveUnitPrice(rows, tenant, carrier, country);
  return {
    carrier,
    perSegment,
    price: perSegment === undefined ? undefined : perSegment * segments,
  };
}

/** Why a priced send is refused. */
export type PriceRefusal =
  | { kind: 'price_unknown' }
  | { kind: 'max_price_exceeded'; price: number; maxPrice: number }
  | { kind: 'spend_cap_exceeded'; spent: number; price: number; cap: number };

/**
 * Checks a quote against the message's `maxPrice` and the tenant's monthly cap (all micro-units).
 * An unknown price is refused only when a cap or a `maxPrice` applies (it could not be honoured);
 * otherwise the message goes out unpriced. `spent` is this month's spend before this message;
 * the database repeats the cap check atomically when it reserves (see `reserveSpend`).
 */
export function checkPrice({
  price,
  maxPrice,
  cap,
  spent,
}: {
  price: number | undefined;
  maxPrice?: number;
  cap?: number;
  spent: number;
}): PriceRefusal | undefined {
  if (price === undefined) {
    return maxPrice !== undefined || cap !== undefined ? { kind: 'price_unknown' } : undefined;
  }
  if (maxPrice !== undefined && price > maxPrice)
    return { kind: 'max_price_exceeded', price, maxPrice };
  if (cap !== undefined && spent + price > cap)
    return { kind: 'spend_cap_exceeded', spent, price, cap };
  return undefined;
}

/** The first day of the UTC month of `at`, as `YYYY-MM-01`: the spend-cap period. */
export function billingMonth(at: number): string {
  const d = new Date(at);
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}-01`;
}

/** Final statuses of a message that was handed to a carrier, and so is billed. */
export const BILLED_STATUSES: readonly string[] = ['delivered', 'undelivered', 'unconfirmed'];
