import { ulid } from 'ulid';
import { checkWebhookSignature, signWebhook } from '../../domain/webhook-signature';
import { CALLBACK_SECRETS_KEY, CallbackSecrets } from '../../encryption/callback-secrets';
import { ENCODING, VaultPayloadCodec } from '../../encryption/codec';
import { DataKeyRing, openAesGcm, sealAesGcm } from '../../encryption/envelope';
import { config, newDbPool, newVault, unique } from '../helpers/stack';

/**
 * Per-tenant callback signing secrets at rest (encryption/callback-secrets.ts), on the real OpenBao and
 * PostgreSQL: a sealed secret opens for its own tenant's messages only, under its own transit key,
 * which neither the codec nor the codec server's identity can open.
 */
describe('callback signing secrets, sealed', () => {
  const db = newDbPool();
  // The API seals (rotates), a worker opens (forMessage): each with its own identity.
  const writer = new CallbackSecrets({ db, vault: newVault('api') });
  const secrets = new CallbackSecrets({ db, vault: newVault() });
  afterAll(() => db.end());

  const message = async (tenant: string) => {
    const id = `msg_${ulid()}`;
    await db.query(
      `insert into messages (id, tenant, purpose, region, encoding, segments, status)
       values ($1, $2, 'otp', 'global', 'GSM7', 1, 'accepted')`,
      [id, tenant],
    );
    return id;
  };
  const sealedOf = async (id: string) =>
    (
      await db.query<{ sealed: string }>(
        'select sealed from callback_signing_secrets where id = $1',
        [id],
      )
    ).rows[0]!.sealed;

  test("each tenant's messages are signed with its own secrets only", async () => {
    const [a, b] = [unique('tenant').toLowerCase(), unique('tenant').toLowerCase()];
    const secretA = await writer.rotate(a, 0);
    const secretB = await writer.rotate(b, 0);
    expect(await secrets.forMessage(await message(a))).toEqual([secretA.secret]);
    expect(await secrets.forMessage(await message(b))).toEqual([secretB.secret]);
    expect(await secrets.forMessage(await message(unique('tenant').toLowerCase()))).toEqual([]);
    const body = '{"id":"msg_x","status":"delivered"}';
    const headers = {
      'x-timestamp': '1700000000',
      'x-signature': signWebhook(secretB.secret, 1700000000, body),
    };
    expect(checkWebhookSignature(secretA.secret, headers, body, 1700000000)).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
  });

  test("a sealed secret copied to another tenant's row does not open", async () => {
    const [a, b] = [unique('tenant').toLowerCase(), unique('tenant').toLowerCase()];
    const rotated = await writer.rotate(a, 0);
    await db.query(
      `insert into callback_signing_secrets (id, tenant, sealed) values ($1, $2, $3)`,
      [`cbs_${ulid()}`, b, await sealedOf(rotated.id)],
    );
    await expect(secrets.forMessage(await message(b))).rejects.toThrow();
  });

  test('a secret is sealed under its own key: the codec and the codec-server identity cannot open it', async () => {
    const tenant = unique('tenant').toLowerCase();
    const rotated = await writer.rotate(tenant, 0);
    const [format, wrapped, data] = (await sealedOf(rotated.id)).split('.');
    expect(format).toBe('cbs2');
    expect(await sealedOf(rotated.id)).not.toContain(rotated.secret);
    const codec = new VaultPayloadCodec({ vault: newVault(), transitKey: config.codec.transitKey });
    const text = (s: string) => new TextEncoder().encode(s);
    await expect(
      codec.decode([
        {
          metadata: { encoding: text(ENCODING), 'encryption-wrapped-key': text(wrapped!) },
          data: Buffer.from(data!, 'base64'),
        },
      ]),
    ).rejects.toThrow();
    await expect(
      newVault('codec-server').decryptBatch(CALLBACK_SECRETS_KEY, [wrapped!]),
    ).rejects.toMatchObject({ status: 403 });
    // With the very data key (a worker's), only the tenant-and-id binding opens it.
    const key = await new DataKeyRing({
      vault: newVault(),
      transitKey: CALLBACK_SECRETS_KEY,
      rotateAfterMs: 60_000,
    }).openingKey(wrapped!);
    const sealed = Buffer.from(data!, 'base64');
    expect(() => openAesGcm(key, sealed)).toThrow();
    const binding = Buffer.from(`callback-secret\n${tenant}\n${rotated.id}`);
    expect(openAesGcm(key, sealed, binding).toString()).toBe(rotated.secret);
  });

  test('a secret sealed before its own key (cbs1, under codec-global) still opens for its tenant', async () => {
    const tenant = unique('tenant').toLowerCase();
    const id = `cbs_${ulid()}`;
    const secret = `cbsec_legacy_${ulid()}`;
    const dk = await new DataKeyRing({
      vault: newVault('api'),
      transitKey: 'codec-global',
      rotateAfterMs: 60_000,
    }).sealingKey();
    const binding = Buffer.from(`callback-secret\n${tenant}\n${id}`);
    const sealed = `cbs1.${dk.wrapped}.${sealAesGcm(dk.key, Buffer.from(secret), binding).toString('base64')}`;
    await db.query(
      `insert into callback_signing_secrets (id, tenant, sealed) values ($1, $2, $3)`,
      [id, tenant, sealed],
    );
    expect(await secrets.forMessage(await message(tenant))).toEqual([secret]);
  });
});
