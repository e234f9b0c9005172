import pino from 'pino';
import type { Pool } from 'pg';
import { createVaultActivities } from '../../activities/vault/tokenize-message';
import { assertRegion, WRONG_REGION } from '../../activities/residency';
import type { SubscriberTokens } from '../../encryption/subscriber-token';
import type { VaultClient } from '../../clients/vault';
import { vaultOperation } from '../../clients/vault';

const refusing = new Proxy(
  {},
  {
    get: () => () => {
      throw new Error('must not be called');
    },
  },
);

describe('region-pinned personal data', () => {
  const residency = { region: 'eu' as const, identity: 'sms-worker-eu/1@h' };

  test("a worker refuses another region's message before any Vault or database call", async () => {
    const { tokenizeMessage } = createVaultActivities({
      vault: refusing as VaultClient,
      db: refusing as Pool,
      log: pino({ level: 'silent' }),
      residency,
      tokens: refusing as SubscriberTokens,
    });
    await expect(
      tokenizeMessage({
        messageId: 'msg_01M89T6N0G4A6D0DKX7HC7WWTJ',
        tenant: 't',
        purpose: 'otp',
        region: 'cn',
        country: 'CN',
        recipientHint: '+86•••••••••78',
        encoding: 'GSM7',
        segments: 1,
        acceptedAt: 0,
        to: '+8613812345678',
        body: 'x',
      }),
    ).rejects.toMatchObject({ type: WRONG_REGION, nonRetryable: true });
  });

  test('the refusal names the regions, never the data', () => {
    expect(() => assertRegion(residency, 'cn')).toThrow(
      'personal data of region cn refused by a worker of region eu',
    );
    expect(() => assertRegion(residency, 'eu')).not.toThrow();
    expect(() => assertRegion(undefined, 'cn')).not.toThrow();
  });

  test('Vault metric operations carry no key name', () => {
    expect(vaultOperation('transit/encrypt/sms-eu', 'transit')).toBe('transit/encrypt');
    expect(vaultOperation('auth/approle/login', 'transit')).toBe('login');
    expect(vaultOperation('sys/health', 'transit')).toBe('sys/health');
    expect(vaultOperation('secret/data/x', 'transit')).toBe('other');
  });
});
