/** Data-residency regions: where a message's personal data may be processed. */
export const REGIONS = ['global', 'eu', 'cn'] as const;
export type Region = (typeof REGIONS)[number];

/**
 * One Temporal task queue per region, derived from {@link REGIONS}: a message's personal-data
 * activities run only on its region's workers.
 */
export const TASK_QUEUES = Object.freeze(
  Object.fromEntries(REGIONS.map((r) => [r, `sms-${r}`])) as { [R in Region]: `sms-${R}` },
);

/** The task queue of `region`; `prefix` isolates test runs (empty in production). */
export const taskQueueFor = (region: Region, prefix = '') => `${prefix}${TASK_QUEUES[region]}`;

/** The Vault transit key that seals a region's personal data (number, text): only its workers may open it. */
export const regionKey = (region: Region) => `sms-${region}`;

/**
 * The Vault transit key that wraps a region's Temporal payloads (encryption/codec.ts): the region's
 * workers decode them; the API may encode under it but not decode.
 */
export const codecKey = (region: Region) => `codec-${region}`;

/** EU and EEA member states: their subscribers' data is processed in the `eu` region. */
const EU = new Set([
  'AT',
  'BE',
  'BG',
  'HR',
  'CY',
  'CZ',
  'DK',
  'EE',
  'FI',
  'FR',
  'DE',
  'GR',
  'HU',
  'IE',
  'IT',
  'LV',
  'LT',
  'LU',
  'MT',
  'NL',
  'PL',
  'PT',
  'RO',
  'SK',
  'SI',
  'ES',
  'SE',
  'IS',
  'LI',
  'NO',
]);

/**
 * The region that must process personal data for a destination country (ISO 3166 alpha-2):
 * CN → cn, EU/EEA → eu, everything else → global.
 */
export function regionFor(country: string): Region {
  const c = country.toUpperCase();
  if (c === 'CN') return 'cn';
  if (EU.has(c)) return 'eu';
  return 'global';
}
