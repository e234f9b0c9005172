/**
 * The key denylist of the logger (config/logger.ts): a field whose name is here has its value
 * replaced by {@link CENSORED} at ANY depth of a log object (pino's `redact` paths reach only the
 * depths they spell out). Names are compared without case, `_` or `-`, so `callbackUrl`,
 * `callback_url` and `Callback-URL` are one name.
 */
export const CENSORED = '[redacted]';

/** Personal data (numbers, texts, addresses the tenant chose) and secrets, by exact field name. */
export const SENSITIVE_KEYS: readonly string[] = [
  // subscribers and message contents
  'to',
  'from',
  'body',
  'text',
  'number',
  'numbers',
  'phone',
  'msisdn',
  'recipient',
  'sender',
  'destination_addr',
  'source_addr',
  'short_message',
  'message_payload',
  // where a tenant's callbacks go (may name a host or carry a token in its query)
  'callbackUrl',
  'webhookUrl',
  // credentials
  'apiKey',
  'x-api-key',
  'secret',
  'secretId',
  'password',
  'passphrase',
  'token',
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'privateKey',
];

/** Any field whose name ends with one of these is a credential too (`webhookSecret`, `vaultToken`). */
export const SENSITIVE_SUFFIXES: readonly string[] = [
  'secret',
  'password',
  'token',
  'apikey',
  'privatekey',
];

const normalize = (key: string) => key.toLowerCase().replace(/[_-]/g, '');
const EXACT = new Set(SENSITIVE_KEYS.map(normalize));
const SUFFIXES = SENSITIVE_SUFFIXES.map(normalize);

/** Whether a log field of this name has its value censored. */
export function isSensitiveKey(key: string): boolean {
  const k = normalize(key);
  return EXACT.has(k) || SUFFIXES.some((s) => k.endsWith(s));
}
