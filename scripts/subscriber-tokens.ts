/**
 * Subscriber-token rotation (encryption/subscriber-token.ts, activities/tokens):
 *
 *   npm run tokens -- status [--tenant acme]
 *   npm run tokens -- rotate --tenant acme [--grace-seconds 30]
 *   npm run tokens -- rotate --all [--grace-seconds 30]
 *
 * `rotate` adds a generation (new tokens from then on; lookups match old and new), waits the grace
 * period so every process has stopped writing old tokens, re-derives every opt-out, sticky sender and
 * unpurged message from its sealed number, and retires the old generations nothing holds any more.
 * Rotate the `subscriber-token` transit key first (`bao write -f transit/keys/subscriber-token/rotate`)
 * to move to a new Vault key version as well. It opens sealed numbers of every region, so it logs in
 * as its own Vault identity, `token-rotation` (VAULT_ROLE_ID/VAULT_SECRET_ID, else the stack's file).
 */
import { createDbPool } from '../clients/db';
import { arg, runIfMain } from './cli';
import { MessageCipher } from '../encryption/message-cipher';
import { SubscriberTokens } from '../encryption/subscriber-token';
import { vaultClientFor } from '../clients/vault';
import { loadConfig } from '../config/config';
import { createLogger } from '../config/logger';
import { createTokenActivities } from '../activities/tokens/rotate-subscriber-tokens';

const USAGE =
  'usage: npm run tokens -- status [--tenant <tenant>] | rotate (--tenant <tenant> | --all) [--grace-seconds <s>]';

async function main() {
  const command = process.argv[2];
  if (!['status', 'rotate'].includes(command ?? '')) throw new Error(USAGE);
  const config = loadConfig();
  const log = createLogger('tokens', config.logLevel);
  const db = createDbPool(config.database, 'sms-tokens');
  try {
    if (command === 'status') {
      const { rows } = await db.query(
        `select scope, generation, vault_key_version, created_at, retired_at
           from subscriber_token_generations where $1::text is null or scope in ($1, '*')
          order by scope, generation`,
        [arg('tenant') ?? null],
      );
      for (const r of rows)
        process.stdout.write(
          `${r.scope}\tgeneration ${r.generation}\tvault key v${r.vault_key_version ?? '- (legacy)'}\t${r.retired_at ? `retired ${r.retired_at.toISOString()}` : 'live'}\n`,
        );
      return;
    }
    const scope = process.argv.includes('--all') ? '*' : arg('tenant');
    if (!scope) throw new Error(USAGE);
    const vault = vaultClientFor(config, 'token-rotation', { log });
    const cipher = new MessageCipher({ vault });
    const { rotateSubscriberTokens } = createTokenActivities({
      db,
      vault,
      cipher,
      tokens: new SubscriberTokens({ vault, db, cipher }),
      log,
    });
    const grace = arg('grace-seconds');
    const result = await rotateSubscriberTokens({
      scope,
      graceMs: grace === undefined ? undefined : Number(grace) * 1000,
    });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await db.end();
  }
}

runIfMain(module, main);
