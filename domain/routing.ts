/** What routing needs to know of a carrier (a subset of its configuration). */
export interface RoutableCarrier {
  name: string;
  /** Lower goes first. */
  priority: number;
  /** ISO alpha-2 destinations it serves; empty = all. */
  countries: readonly string[];
}

/**
 * The carriers serving `country`, in failover order (by priority, then configuration order). The
 * workers route with it (`CarrierDirectory.eligible`) and the API quotes and dry-runs with it, so
 * both see the same order.
 */
export function eligibleCarriers(carriers: readonly RoutableCarrier[], country: string): string[] {
  return [...carriers]
    .sort((a, b) => a.priority - b.priority)
    .filter((c) => c.countries.length === 0 || c.countries.includes(country))
    .map((c) => c.name);
}
