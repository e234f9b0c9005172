import { defaultPayloadConverter } from '@temporalio/common';
import { ENCODING, TRANSIT_KEY, VaultPayloadCodec } from '../../encryption/codec';
import { MessageCipher } from '../../encryption/message-cipher';
import { newVault, rootVault } from '../helpers/stack';

const payload = (v: unknown) => defaultPayloadConverter.toPayload(v);
const value = (p: Parameters<typeof defaultPayloadConverter.fromPayload>[0]) =>
  defaultPayloadConverter.fromPayload(p);

describe('the Vault-backed payload codec', () => {
  test('encrypts payloads so neither data nor metadata shows the value, and decodes them back', async () => {
    const codec = new VaultPayloadCodec({ vault: newVault(), transitKey: 'codec-global' });
    const secret = { to: '+447400123456', body: 'Your code is 123456' };
    const [encoded] = await codec.encode([payload(secret)]);
    expect(Buffer.from(encoded!.metadata!.encoding!).toString()).toBe(ENCODING);
    const raw = Buffer.concat([
      Buffer.from(encoded!.data!),
      ...Object.values(encoded!.metadata!).map((m) => Buffer.from(m)),
    ]).toString('latin1');
    expect(raw).not.toContain('7400123456');
    expect(raw).not.toContain('123456');
    const [decoded] = await codec.decode([encoded!]);
    expect(value(decoded!)).toEqual(secret);
  });

  test('payloads under older data keys and an older transit key version still decode in another process', async () => {
    const writer = new VaultPayloadCodec({ vault: newVault(), transitKey: 'codec-global' });
    const [a] = await writer.encode([payload('first')]);
    const firstKey = writer.currentKeyId;
    writer.rotate();
    const [b] = await writer.encode([payload('second')]);
    expect(writer.currentKeyId).not.toBe(firstKey);
    await rootVault().request('POST', 'transit/keys/codec-global/rotate');
    writer.rotate();
    const [c] = await writer.encode([payload('third')]);

    const reader = new VaultPayloadCodec({ vault: newVault(), transitKey: 'codec-global' });
    expect((await reader.decode([a!, b!, c!])).map((p) => value(p))).toEqual([
      'first',
      'second',
      'third',
    ]);
  });

  test('data keys rotate on schedule', async () => {
    let now = 0;
    const codec = new VaultPayloadCodec({
      vault: newVault(),
      transitKey: 'codec-global',
      rotateAfterMs: 1000,
      now: () => now,
    });
    await codec.encode([payload(1)]);
    const first = codec.currentKeyId;
    now = 500;
    await codec.encode([payload(2)]);
    expect(codec.currentKeyId).toBe(first);
    now = 1500;
    await codec.encode([payload(3)]);
    expect(codec.currentKeyId).not.toBe(first);
  });

  test('a tampered payload fails to decode instead of yielding altered data', async () => {
    const codec = new VaultPayloadCodec({ vault: newVault(), transitKey: 'codec-global' });
    const [encoded] = await codec.encode([payload('pay 10 EUR')]);
    const data = Buffer.from(encoded!.data!);
    data[20] = data[20]! ^ 1;
    await expect(codec.decode([{ ...encoded!, data }])).rejects.toThrow();
  });

  test('payloads it did not encode pass through unchanged', async () => {
    const codec = new VaultPayloadCodec({ vault: newVault(), transitKey: 'codec-global' });
    const plain = payload('not encrypted');
    expect(await codec.decode([plain])).toEqual([plain]);
  });

  test('a payload names its transit key and decodes under it; one without the name decodes under codec-global', async () => {
    const eu = new VaultPayloadCodec({ vault: rootVault(), transitKey: 'codec-eu' });
    const [underEu] = await eu.encode([payload('eu reference')]);
    expect(Buffer.from(underEu!.metadata![TRANSIT_KEY]!).toString()).toBe('codec-eu');

    const global = new VaultPayloadCodec({ vault: rootVault(), transitKey: 'codec-global' });
    const [underGlobal] = await global.encode([payload('global reference')]);
    const { [TRANSIT_KEY]: _named, ...legacyMetadata } = underGlobal!.metadata!;
    const legacy = { ...underGlobal!, metadata: legacyMetadata };

    const reader = new VaultPayloadCodec({ vault: rootVault(), transitKey: 'codec-cn' });
    expect((await reader.decode([underEu!, legacy])).map((p) => value(p))).toEqual([
      'eu reference',
      'global reference',
    ]);
  });

  test('the named key must be a codec key, and the wrapped key opens only under the key that wrapped it', async () => {
    const eu = new VaultPayloadCodec({ vault: rootVault(), transitKey: 'codec-eu' });
    const [encoded] = await eu.encode([payload('eu reference')]);
    const naming = (key: string) => ({
      ...encoded!,
      metadata: { ...encoded!.metadata!, [TRANSIT_KEY]: Buffer.from(key) },
    });
    const reader = new VaultPayloadCodec({ vault: rootVault(), transitKey: 'codec-global' });
    await expect(reader.decode([naming('sms-eu')])).rejects.toThrow(/not a codec key/);
    await expect(reader.decode([naming('codec-cn')])).rejects.toThrow();
    expect(() => new VaultPayloadCodec({ vault: rootVault(), transitKey: 'sms-eu' })).toThrow(
      /not a codec transit key/,
    );
  });

  test('the codec-server identity decodes what the API encodes, encodes as the API does, and may not touch a region key (403)', async () => {
    const [fromApi] = await new VaultPayloadCodec({
      vault: newVault('api'),
      transitKey: 'codec-global',
    }).encode([payload('a reference')]);
    const decoder = new VaultPayloadCodec({
      vault: newVault('codec-server'),
      transitKey: 'codec-global',
    });
    expect(value((await decoder.decode([fromApi!]))[0]!)).toBe('a reference');
    // A signal input typed in the UI: encoded under the same key, and the global worker opens it;
    // the API, which may encode under codec keys but decrypt none, gets 403.
    const [typed] = await decoder.encode([payload('typed in the UI')]);
    const worker = new VaultPayloadCodec({
      vault: newVault('worker-global'),
      transitKey: 'codec-global',
    });
    expect(value((await worker.decode([typed!]))[0]!)).toBe('typed in the UI');
    const apiCodec = new VaultPayloadCodec({ vault: newVault('api'), transitKey: 'codec-global' });
    await expect(apiCodec.decode([typed!])).rejects.toMatchObject({
      name: 'VaultError',
      status: 403,
    });
    // It draws data keys of the codec key only: none of another codec key.
    await expect(
      new VaultPayloadCodec({ vault: newVault('codec-server'), transitKey: 'codec-eu' }).encode([
        payload('x'),
      ]),
    ).rejects.toMatchObject({ name: 'VaultError', status: 403 });
    const [sealed] = await new MessageCipher({ vault: newVault('api') }).seal('sms-eu', [
      Buffer.from('+33612345678'),
    ]);
    const wrapped = sealed!.split('.')[1]!;
    await expect(newVault('codec-server').decryptBatch('sms-eu', [wrapped])).rejects.toMatchObject({
      status: 403,
    });
    await expect(newVault('codec-server').plaintextDataKey('sms-eu')).rejects.toMatchObject({
      status: 403,
    });
  });
});
