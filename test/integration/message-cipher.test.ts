import { MessageCipher } from '../../encryption/message-cipher';
import { config, newVault, rootVault } from '../helpers/stack';

const number = '+447400123456';
const body = 'Your code is 482913';

describe('message secrets: envelope encryption under the region transit key', () => {
  test('seals so the ciphertext shows neither value, and another process opens it', async () => {
    // The API seals (datakey/plaintext) what only the region's worker opens.
    const [numberCt, bodyCt] = await new MessageCipher({ vault: newVault('api') }).seal('sms-eu', [
      Buffer.from(number),
      Buffer.from(body),
    ]);
    for (const ct of [numberCt!, bodyCt!]) {
      expect(ct).toMatch(/^env1\.vault:v\d+:/);
      expect(ct).not.toContain('7400123456');
      expect(ct).not.toContain('482913');
      expect(Buffer.from(ct.split('.')[2]!, 'base64').toString('latin1')).not.toContain('482913');
    }
    const opened = await new MessageCipher({ vault: newVault('worker-eu') }).open('sms-eu', [
      numberCt!,
      bodyCt!,
    ]);
    expect(opened.map((b) => b.toString())).toEqual([number, body]);
  });

  test('sealing 200 messages costs one Vault data-key draw, opening them one unwrap per process', async () => {
    const writerVault = newVault('api');
    const writer = new MessageCipher({ vault: writerVault });
    await writer.seal('sms-global', [Buffer.from('warm-up login')]);
    writer.rotate();
    const before = writerVault.requests;
    const sealed = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        writer.seal('sms-global', [Buffer.from(`+4474001${String(i).padStart(5, '0')}`)]),
      ),
    );
    // One datakey/plaintext request for all 200.
    expect(writerVault.requests - before).toBe(1);

    const readerVault = newVault();
    const reader = new MessageCipher({ vault: readerVault });
    await reader.open('sms-global', sealed[0]!);
    const beforeOpen = readerVault.requests;
    const opened = await Promise.all(sealed.map((ct) => reader.open('sms-global', ct)));
    expect(readerVault.requests - beforeOpen).toBe(0);
    expect(opened[199]![0]!.toString()).toBe('+447400100199');
  });

  test('secrets sealed before a transit key rotation and plain transit ciphertexts still open', async () => {
    const writer = new MessageCipher({ vault: newVault('api') });
    const [before] = await writer.seal('sms-cn', [Buffer.from('before rotation')]);
    await rootVault().request('POST', 'transit/keys/sms-cn/rotate');
    writer.rotate();
    const [after] = await writer.seal('sms-cn', [Buffer.from('after rotation')]);
    const [transit] = await rootVault().encryptBatch('sms-cn', [Buffer.from('older row')]);
    const opened = await new MessageCipher({ vault: newVault('worker-cn') }).open('sms-cn', [
      before!,
      transit!,
      after!,
    ]);
    expect(opened.map((b) => b.toString())).toEqual([
      'before rotation',
      'older row',
      'after rotation',
    ]);
  });

  test('a tampered ciphertext or one opened under another region key fails instead of yielding data', async () => {
    const cipher = new MessageCipher({ vault: newVault() });
    const [ct] = await cipher.seal('sms-global', [Buffer.from('pay 10 EUR')]);
    const [prefix, wrapped, data] = ct!.split('.');
    const bytes = Buffer.from(data!, 'base64');
    bytes[14] = bytes[14]! ^ 1;
    await expect(
      cipher.open('sms-global', [`${prefix}.${wrapped}.${bytes.toString('base64')}`]),
    ).rejects.toThrow();
    await expect(
      new MessageCipher({ vault: newVault('worker-eu') }).open('sms-eu', [ct!]),
    ).rejects.toThrow();
  });

  test("the API's identity cannot open a region key, nor a worker another region's (403 from OpenBao)", async () => {
    const [ct] = await new MessageCipher({ vault: newVault('api') }).seal('sms-eu', [
      Buffer.from(number),
    ]);
    const wrapped = ct!.split('.')[1]!;
    // The API sealed it, and still cannot unwrap its data key.
    for (const region of ['global', 'eu', 'cn'])
      await expect(newVault('api').decryptBatch(`sms-${region}`, [wrapped])).rejects.toMatchObject({
        name: 'VaultError',
        status: 403,
      });
    // The global worker can neither open nor seal under the eu key; the eu worker opens it.
    await expect(newVault('worker-global').decryptBatch('sms-eu', [wrapped])).rejects.toMatchObject(
      { status: 403 },
    );
    await expect(newVault('worker-global').plaintextDataKey('sms-eu')).rejects.toMatchObject({
      status: 403,
    });
    await expect(newVault('worker-cn').decryptBatch('sms-eu', [wrapped])).rejects.toMatchObject({
      status: 403,
    });
    const [opened] = await new MessageCipher({ vault: newVault('worker-eu') }).open('sms-eu', [
      ct!,
    ]);
    expect(opened!.toString()).toBe(number);
    // No identity may manage keys.
    for (const identity of ['api', 'worker-eu'] as const)
      await expect(
        newVault(identity).request('POST', 'transit/keys/sms-eu/rotate'),
      ).rejects.toMatchObject({ status: 403 });
  });

  test('a worker token is revoked when its client closes', async () => {
    const vault = newVault('worker-eu');
    await vault.plaintextDataKey('sms-eu');
    const token = (vault as unknown as { token: { value: string } }).token.value;
    await vault.close();
    const res = await fetch(`${config.vault.addr}/v1/auth/token/lookup-self`, {
      headers: { 'X-Vault-Token': token },
    });
    expect(res.status).toBe(403);
  });
});
