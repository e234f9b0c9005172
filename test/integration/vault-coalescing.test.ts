import { rootVault } from '../helpers/stack';

// The client's batching, not its permissions, is under test: transit encrypt is no app identity's.
const client = (coalesceMs?: number) => rootVault({ coalesceMs });

describe('transit calls from concurrent activities are coalesced into one batch_input request', () => {
  test('20 concurrent encrypts share one request, and each caller gets its own ciphertexts back', async () => {
    const vault = client(5);
    await vault.encryptBatch('sms-global', [Buffer.from('warm-up login')]);
    const before = vault.requests;
    const inputs = Array.from({ length: 20 }, (_, i) => [
      Buffer.from(`number ${i}`),
      Buffer.from(`body ${i}`),
    ]);
    const outputs = await Promise.all(inputs.map((pair) => vault.encryptBatch('sms-global', pair)));
    expect(vault.requests - before).toBe(1);
    const decrypted = await Promise.all(
      outputs.map((pair) => vault.decryptBatch('sms-global', pair)),
    );
    expect(decrypted.map((pair) => pair.map((b) => b.toString()))).toEqual(
      inputs.map((pair) => pair.map((b) => b.toString())),
    );
    expect(vault.requests - before).toBe(2);
  });

  test('a failed item fails only its own caller', async () => {
    const vault = client(5);
    const [good] = await vault.encryptBatch('sms-global', [Buffer.from('fine')]);
    const results = await Promise.allSettled([
      vault.decryptBatch('sms-global', [good!]),
      vault.decryptBatch('sms-global', ['vault:v1:bm90IGEgY2lwaGVydGV4dA==']),
      vault.decryptBatch('sms-global', [good!]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[0] as PromiseFulfilledResult<Buffer[]>).value[0]!.toString()).toBe('fine');
  });

  test('different keys and operations are never mixed, and coalesceMs 0 sends each call alone', async () => {
    const vault = client(5);
    await vault.encryptBatch('sms-global', [Buffer.from('warm-up')]);
    const before = vault.requests;
    await Promise.all([
      vault.encryptBatch('sms-global', [Buffer.from('a')]),
      vault.encryptBatch('sms-eu', [Buffer.from('b')]),
      vault.hmacBatch('subscriber-token', [Buffer.from('c')]),
      vault.encryptBatch('sms-global', [Buffer.from('d')]),
    ]);
    expect(vault.requests - before).toBe(3);

    const direct = client(0);
    await direct.encryptBatch('sms-global', [Buffer.from('warm-up')]);
    const start = direct.requests;
    await Promise.all([
      direct.encryptBatch('sms-global', [Buffer.from('a')]),
      direct.encryptBatch('sms-global', [Buffer.from('b')]),
    ]);
    expect(direct.requests - start).toBe(2);
  });
});
