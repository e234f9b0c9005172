/**
 * The policy's configuration in PostgreSQL: country rules, the price table and spend caps, as
 * admins set them and as admission reads them (`loadPolicyRules`, one round trip, cached by the
 * API). Nothing here holds personal data; the decisions themselves are in `domain/policy.ts`.
 */
import type { Pool } from 'pg';
import { configChanged } from './config-cache';
import {
  toMicros,
  type CountryAction,
  type CountryRule,
  type OverLimit,
  type PriceRow,
} from '../domain/policy';

interface RuleRow {
  country: string;
  action: CountryAction;
  otpPerWindow: number | null;
  overLimit: OverLimit;
}

const RULE_COLUMNS = `country, action, otp_per_window as "otpPerWindow", over_limit as "overLimit"`;
const ruleOf = (r: RuleRow): CountryRule => ({
  country: r.country,
  action: r.action,
  otpPerWindow: r.otpPerWindow ?? undefined,
  overLimit: r.overLimit,
});

/** The tenant's country rules, by country. */
export async function listCountryRules(db: Pool, tenant: string): Promise<CountryRule[]> {
  const { rows } = await db.query<RuleRow>(
    `select ${RULE_COLUMNS} from country_rules where tenant = $1 order by country`,
    [tenant],
  );
  return rows.map(ruleOf);
}

/** Creates or replaces the tenant's rule for a country. */
export async function putCountryRule(
  db: Pool,
  tenant: string,
  rule: CountryRule,
): Promise<CountryRule> {
  const { rows } = await db.query<RuleRow>(
    `insert into country_rules (tenant, country, action, otp_per_window, over_limit)
     values ($1, $2, $3, $4, $5)
     on conflict (tenant, country) do update
       set action = excluded.action, otp_per_window = excluded.otp_per_window,
           over_limit = excluded.over_limit, updated_at = now()
     returning ${RULE_COLUMNS}`,
    [tenant, rule.country, rule.action, rule.otpPerWindow ?? null, rule.overLimit],
  );
  configChanged();
  return ruleOf(rows[0]!);
}

/** Removes the tenant's rule for a country (it is then allowed). False if there was none. */
export async function deleteCountryRule(
  db: Pool,
  tenant: string,
  country: string,
): Promise<boolean> {
  const r = await db.query('delete from country_rules where tenant = $1 and country = $2', [
    tenant,
    country,
  ]);
  configChanged();
  return (r.rowCount ?? 0) > 0;
}

// ---------------------------------------------------------------------------------------------
// Prices and caps

/** The price rows that apply to `tenant` (its own and the platform's '*'), optionally for some carriers. */
export async function listPrices(
  db: Pool,
  tenant: string,
  carriers?: readonly string[],
): Promise<PriceRow[]> {
  const { rows } = await db.query<{
    tenant: string;
    carrier: string;
    country: string;
    price: string;
  }>(
    `select tenant, carrier, country, price_per_segment::text as price from carrier_prices
      where tenant in ($1, '*') and ($2::text[] is null or carrier = any($2))
      order by carrier, country, tenant`,
    [tenant, carriers ?? null],
  );
  return rows.map((r) => ({ ...r, perSegment: toMicros(r.price) }));
}

/** Sets a price per segment (micro-units) for `tenant` ('*' = the platform list). */
export async function putPrice(
  db: Pool,
  row: { tenant: string; carrier: string; country: string; perSegment: number },
): Promise<void> {
  await db.query(
    `insert into carrier_prices (tenant, carrier, country, price_per_segment)
     values ($1, $2, $3, $4::numeric / 1000000)
     on conflict (tenant, carrier, country) do update
       set price_per_segment = excluded.price_per_segment, updated_at = now()`,
    [row.tenant, row.carrier, row.country, row.perSegment],
  );
  configChanged();
}

/** Removes one of the tenant's prices. False if there was none. */
export async function deletePrice(
  db: Pool,
  tenant: string,
  carrier: string,
  country: string,
): Promise<boolean> {
  const r = await db.query(
    'delete from carrier_prices where tenant = $1 and carrier = $2 and country = $3',
    [tenant, carrier, country],
  );
  configChanged();
  return (r.rowCount ?? 0) > 0;
}

/** The tenant's monthly cap in micro-units, or undefined when it has none. */
export async function findSpendCap(db: Pool, tenant: string): Promise<number | undefined> {
  const { rows } = await db.query<{ cap: string }>(
    'select monthly_cap::text as cap from spend_caps where tenant = $1',
    [tenant],
  );
  return rows[0] ? toMicros(rows[0].cap) : undefined;
}

/** Sets (micro-units) or, with null, removes the tenant's monthly cap. */
export async function putSpendCap(db: Pool, tenant: string, cap: number | null): Promise<void> {
  if (cap === null) await db.query('delete from spend_caps where tenant = $1', [tenant]);
  else
    await db.query(
      `insert into spend_caps (tenant, monthly_cap) values ($1, $2::numeric / 1000000)
       on conflict (tenant) do update set monthly_cap = excluded.monthly_cap, updated_at = now()`,
      [tenant, cap],
    );
  configChanged();
}

// ---------------------------------------------------------------------------------------------
// Read at admission (hot path)

/**
 * What admission needs to know of a tenant's configuration, read in one round trip. It changes only
 * when an admin changes it, so the API keeps it in its configuration cache (db/config-cache.ts); the
 * month's spend is not part of it (the admission statement checks the cap against the live value).
 */
export interface PolicyRules {
  rule?: CountryRule;
  prices: PriceRow[];
  /** Micro-units. */
  cap?: number;
}

/** The tenant's rule for `country`, its prices for `carriers` and its cap, in one statement. */
export async function loadPolicyRules(
  db: Pool,
  tenant: string,
  country: string,
  carriers: readonly string[],
): Promise<PolicyRules> {
  const { rows } = await db.query<{
    rule: RuleRow | null;
    cap: string | null;
    prices: { tenant: string; carrier: string; country: string; price: string }[];
  }>(
    `select (select row_to_json(r) from (select ${RULE_COLUMNS} from country_rules
                                           where tenant = $1 and country = $2) r) as rule,
            (select monthly_cap::text from spend_caps where tenant = $1) as cap,
            (select coalesce(json_agg(json_build_object('tenant', tenant, 'carrier', carrier,
                                      'country', country, 'price', price_per_segment::text)), '[]')
               from carrier_prices where tenant in ($1, '*') and carrier = any($3)) as prices`,
    [tenant, country, carriers],
  );
  const r = rows[0]!;
  return {
    rule: r.rule ? ruleOf(r.rule) : undefined,
    prices: r.prices.map((p) => ({ ...p, perSegment: toMicros(p.price) })),
    cap: r.cap === null ? undefined : toMicros(r.cap),
  };
}
