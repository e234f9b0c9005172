import type { Settings } from './settings';

/**
 * Values that exist only for the local stack (and docker-compose's dev-mode Vault): a production
 * process refuses to start with any of them, naming the variable.
 */
const DEVELOPMENT_SECRETS = {
  vaultToken: ['dev-only-root-token', 'root'],
  carrierToken: ['dev-carrier-token'],
  carrierWebhookSecret: ['dev-carrier-webhook-secret'],
  smppPassword: ['sms'],
} as const;

/**
 * What a production process must not run with: a development default (the local stack's carrier
 * credentials, SMPP password `sms`, a dev-mode Vault root token) or a plain-http outbound URL. Each
 * issue names the variable (and the carrier's index), never the value.
 */
export function productionIssues(e: Settings, env: NodeJS.ProcessEnv): string[] {
  const issues: string[] = [];
  const dev = DEVELOPMENT_SECRETS;
  const isDev = (list: readonly string[], value: string | undefined) =>
    value !== undefined && list.includes(value);
  if (!env.CARRIERS)
    issues.push(
      'CARRIERS: unset in production; the default is the local simulators and their development credentials',
    );
  if (isDev(dev.vaultToken, e.VAULT_TOKEN))
    issues.push('VAULT_TOKEN: a development root token; use AppRole credentials in production');
  e.CARRIERS.forEach((c, i) => {
    const at = `CARRIERS[${i}]`;
    if (c.kind === 'smpp') {
      if (isDev(dev.smppPassword, c.password)) issues.push(`${at}.password: a development default`);
      if (c.tls && c.tlsRejectUnauthorized === false)
        issues.push(`${at}.tlsRejectUnauthorized: false is for a test SMSC, never production`);
      return;
    }
    if (isDev(dev.carrierToken, c.token)) issues.push(`${at}.token: a development default`);
    if (isDev(dev.carrierWebhookSecret, c.webhookSecret))
      issues.push(`${at}.webhookSecret: a development default`);
    if (!c.baseUrl.startsWith('https://'))
      issues.push(`${at}.baseUrl: https is required in production`);
  });
  if (e.ANOMALY_WEBHOOK_URL && !e.ANOMALY_WEBHOOK_URL.startsWith('https://'))
    issues.push('ANOMALY_WEBHOOK_URL: https is required in production');
  return issues;
}

/**
 * Settings that only work together (a TLS certificate without its key, a webhook without its secret)
 * or exclude each other (a Temporal API key and a file holding one).
 */
export function unpairedSettings(e: Settings): string[] {
  const pairs = [
    ['API_TLS_CERT', 'API_TLS_KEY'],
    ['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY'],
  ] as const;
  const unpaired = pairs.flatMap(([a, b]) =>
    Boolean(e[a]) === Boolean(e[b]) ? [] : [`${a}, ${b}: set both or neither`],
  );
  if (e.API_TLS_CA && !e.API_TLS_CERT)
    unpaired.push('API_TLS_CA: needs API_TLS_CERT and API_TLS_KEY');
  if (e.TEMPORAL_API_KEY && e.TEMPORAL_API_KEY_FILE)
    unpaired.push('TEMPORAL_API_KEY, TEMPORAL_API_KEY_FILE: set one or neither');
  if (e.ANOMALY_WEBHOOK_URL && !e.ANOMALY_WEBHOOK_SECRET)
    unpaired.push('ANOMALY_WEBHOOK_SECRET: required when ANOMALY_WEBHOOK_URL is set');
  return unpaired;
}
