import type { VaultClient } from './vault';

/** The transit key whose HMAC of a normalized (E.164) number is the subscriber token. */
export const SUBSCRIBER_TOKEN_KEY = 'subscriber-token';

/**
 * The subscriber token of an E.164 number: Vault transit HMAC under {@link SUBSCRIBER_TOKEN_KEY},
 * the same value the tokenize step stores, so opt-outs and erasures find the subject's rows.
 */
export async function subscriberTokenOf(vault: VaultClient, e164: string): Promise<string> {
  const [token] = await vault.hmacBatch(SUBSCRIBER_TOKEN_KEY, [Buffer.from(e164)]);
  return token!;
}
