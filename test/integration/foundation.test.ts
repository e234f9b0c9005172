import { randomBytes } from 'node:crypto';
import { ulid } from 'ulid';
import { newMessageId } from '../../domain/ids';
import { NativeConnection, Worker } from '@temporalio/worker';
import {
  config,
  newDbPool,
  newTemporalClient,
  newVault,
  rootVault,
  silentLog,
  unique,
} from '../helpers/stack';
import { installRuntime } from '../../workers/temporal-logging';

describe('the local stack is real', () => {
  test('Temporal: a workflow runs on a worker and returns its result', async () => {
    installRuntime(silentLog, 'WARN');
    const taskQueue = unique('foundation');
    const connection = await NativeConnection.connect({ address: config.temporal.address });
    const worker = await Worker.create({
      connection,
      taskQueue,
      workflowsPath: require.resolve('./fixtures/echo-workflow'),
      activities: { shout: async (s: string) => s.toUpperCase() },
    });
    const client = await newTemporalClient();
    try {
      const result = await worker.runUntil(
        client.workflow.execute('echoWorkflow', {
          taskQueue,
          workflowId: unique('echo'),
          args: ['hello'],
        }),
      );
      expect(result).toBe('HELLO!');
    } finally {
      await client.connection.close();
      await connection.close();
    }
  });

  test('OpenBao: transit ciphertexts open with the region worker AppRole, and rotation keeps old ones readable', async () => {
    const vault = newVault('worker-global');
    const writer = rootVault();
    const plain = [
      Buffer.from('+447400123456'),
      Buffer.from('验证码 123456 ' + randomBytes(4).toString('hex')),
    ];
    const before = await writer.encryptBatch('sms-global', plain);
    expect(before).toHaveLength(2);
    for (const c of before) expect(c).toMatch(/^vault:v\d+:/);
    expect(before.join()).not.toContain('447400123456');

    await rootVault().request('POST', 'transit/keys/sms-global/rotate');
    const after = await writer.encryptBatch('sms-global', [plain[0]!]);
    const version = (c: string) => Number(/^vault:v(\d+):/.exec(c)![1]);
    expect(version(after[0]!)).toBeGreaterThan(version(before[0]!));

    const decrypted = await vault.decryptBatch('sms-global', [...before, ...after]);
    expect(decrypted.map((b) => b.toString())).toEqual([
      plain[0]!.toString(),
      plain[1]!.toString(),
      plain[0]!.toString(),
    ]);
  });

  test('OpenBao: the app token cannot rotate keys (least privilege)', async () => {
    await expect(
      newVault().request('POST', 'transit/keys/sms-global/rotate'),
    ).rejects.toMatchObject({ status: 403 });
  });

  test('PostgreSQL: a migrated table is written and read', async () => {
    const db = newDbPool();
    const id = newMessageId(ulid);
    try {
      await db.query(
        `insert into messages (id, tenant, purpose, country, region, encoding, segments, status) values ($1, 'acme', 'otp', 'GB', 'global', 'GSM7', 1, 'accepted')`,
        [id],
      );
      const { rows } = await db.query(
        'select tenant, purpose, segments, status from messages where id = $1',
        [id],
      );
      expect(rows).toEqual([{ tenant: 'acme', purpose: 'otp', segments: 1, status: 'accepted' }]);
      await db.query('delete from messages where id = $1', [id]);
    } finally {
      await db.end();
    }
  });
});
