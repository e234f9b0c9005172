import { VAULT_IDENTITIES } from '../../config/stack';
import { policyFor } from '../../scripts/stack/openbao';

/** The paths a policy grants, as `operation/key` (e.g. `decrypt/sms-eu`). */
const grants = (policy: string) =>
  [...policy.matchAll(/path "transit\/([^"]+)"/g)].map((m) => m[1]!).sort();

describe('Vault policies: each identity names only its own keys and operations', () => {
  test('the API seals under every region key and every codec key and opens none (encrypt: opt-out numbers)', () => {
    expect(grants(policyFor('api'))).toEqual([
      'datakey/plaintext/callback-secrets',
      'datakey/plaintext/codec-cn',
      'datakey/plaintext/codec-eu',
      'datakey/plaintext/codec-global',
      'datakey/plaintext/sms-cn',
      'datakey/plaintext/sms-eu',
      'datakey/plaintext/sms-global',
      'encrypt/sms-cn',
      'encrypt/sms-eu',
      'encrypt/sms-global',
      'hmac/subscriber-token',
      'hmac/subscriber-token/*',
    ]);
  });

  test("a region's worker opens its own region key and codec key only (encodes under every codec key)", () => {
    expect(grants(policyFor('worker-eu'))).toEqual([
      'datakey/plaintext/codec-cn',
      'datakey/plaintext/codec-eu',
      'datakey/plaintext/codec-global',
      'datakey/plaintext/sms-eu',
      'decrypt/callback-secrets',
      'decrypt/codec-eu',
      'decrypt/sms-eu',
      'encrypt/sms-cn',
      'encrypt/sms-eu',
      'encrypt/sms-global',
      'hmac/subscriber-token',
      'hmac/subscriber-token/*',
    ]);
  });

  test('the token rotation opens every region key and seals nothing', () => {
    expect(grants(policyFor('token-rotation'))).toEqual([
      'decrypt/sms-cn',
      'decrypt/sms-eu',
      'decrypt/sms-global',
      'hmac/subscriber-token',
      'hmac/subscriber-token/*',
    ]);
  });

  test('the codec server opens codec data keys of every region, draws those of the codec key to encode, and nothing else: no region key, no HMAC, no sealing', () => {
    expect(grants(policyFor('codec-server'))).toEqual([
      'datakey/plaintext/codec-global',
      'decrypt/codec-cn',
      'decrypt/codec-eu',
      'decrypt/codec-global',
    ]);
  });

  test('no identity has a wildcard key, key management, or anything outside transit but its own token', () => {
    for (const identity of VAULT_IDENTITIES) {
      const policy = policyFor(identity);
      expect(grants(policy).filter((g) => g.includes('*') && !g.startsWith('hmac/'))).toEqual([]);
      expect(policy).not.toMatch(/transit\/keys|sys\/|rewrap|export/);
      const others = [...policy.matchAll(/path "([^"]+)"/g)]
        .map((m) => m[1]!)
        .filter((p) => !p.startsWith('transit/'));
      expect(others.sort()).toEqual([
        'auth/token/lookup-self',
        'auth/token/renew-self',
        'auth/token/revoke-self',
      ]);
    }
  });
});
