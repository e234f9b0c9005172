import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { ulid } from 'ulid';
import { newMessageId } from '../../domain/ids';
import { join } from 'node:path';
import {
  config,
  newDbPool,
  newTemporalClient,
  newVault,
  rootVault,
  stack,
  unique,
} from '../helpers/stack';

/**
 * `stack:down` then `stack:up` keeps every service's data. Runs alone, after the other suites
 * (`npm test` runs this project last), because it restarts the services under them.
 */
const stackCli = (...args: string[]) =>
  execFileSync(
    join(stack.rootDir, 'node_modules', '.bin', 'tsx'),
    [join(stack.rootDir, 'scripts', 'stack.ts'), ...args],
    {
      stdio: 'pipe',
      timeout: 300_000,
    },
  );

test('stack:down && stack:up keeps ciphertexts, rows and workflows', async () => {
  const marker = randomBytes(8).toString('hex');
  const id = newMessageId(ulid);
  const workflowId = unique('persisted');

  const [ciphertext] = await rootVault().encryptBatch('sms-global', [Buffer.from(marker)]);
  let db = newDbPool();
  await db.query(
    `insert into messages (id, tenant, purpose, region, encoding, segments, status) values ($1, $2, 'otp', 'global', 'GSM7', 1, 'accepted')`,
    [id, marker],
  );
  await db.end();
  let client = await newTemporalClient();
  // No worker polls this queue: the workflow stays open and must be listed after the restart.
  await client.workflow.start('neverRuns', { taskQueue: unique('nobody'), workflowId });
  await client.connection.close();

  stackCli('down');
  stackCli('up');

  const [plain] = await newVault().decryptBatch('sms-global', [ciphertext!]);
  expect(plain!.toString()).toBe(marker);

  db = newDbPool();
  const { rows } = await db.query('select tenant from messages where id = $1', [id]);
  await db.query('delete from messages where id = $1', [id]);
  await db.end();
  expect(rows).toEqual([{ tenant: marker }]);

  client = await newTemporalClient();
  const listed: string[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId = '${workflowId}'` }))
    listed.push(wf.workflowId);
  await client.workflow.getHandle(workflowId).terminate('test done');
  await client.connection.close();
  expect(listed).toEqual([workflowId]);
  expect(config.temporal.address).toContain(String(stack.temporal.port));
});
