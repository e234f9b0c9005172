import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { createApiKey } from '../../scripts/keys';
import { eventually } from '../helpers/eventually';
import { freePort, seedTenant } from '../helpers/pipeline';
import { newDbPool, newTemporalClient, stack, unique } from '../helpers/stack';

/**
 * The API and the codec server as the processes `npm start` runs (processes/api.ts and
 * processes/codec-server.ts, through tsx): the API process answers 404 on every `/codec` route, and
 * the codec server process, under its own Vault identity, decodes the input of a workflow the API
 * started. No worker runs: the workflow waits on a task queue of its own.
 */
interface Proc {
  child: ChildProcess;
  output: string;
}

function run(entry: string, env: Record<string, string>): Proc {
  const child = spawn(join(stack.rootDir, 'node_modules', '.bin', 'tsx'), [entry], {
    cwd: stack.rootDir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = { child, output: '' };
  const collect = (b: Buffer) => {
    proc.output = (proc.output + b.toString()).slice(-10_000);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  return proc;
}

async function stop(proc: Proc | undefined): Promise<void> {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.child.once('exit', resolve));
  proc.child.kill('SIGTERM');
  await exited;
}

/** Waits until `url` answers 2xx, failing with the process's output if it exits first. */
const answering = (what: string, proc: Proc, url: string) =>
  eventually(
    what,
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`${what} exited:\n${proc.output}`);
      return (await fetch(url).catch(() => undefined))?.ok || undefined;
    },
    90_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${proc.output}`);
  });

describe('the codec server is a process of its own; the API process serves no /codec', () => {
  const db = newDbPool();
  let api: Proc | undefined;
  let codec: Proc | undefined;
  let plain: Client;
  let apiBase: string;
  let codecBase: string;

  beforeAll(async () => {
    const [apiPort, codecPort] = [await freePort(), await freePort()];
    apiBase = `http://127.0.0.1:${apiPort}`;
    codecBase = `http://127.0.0.1:${codecPort}`;
    const env = {
      API_PORT: String(apiPort),
      API_METRICS_PORT: '0',
      CODEC_PORT: String(codecPort),
      TASK_QUEUE_PREFIX: `${unique('cproc').toLowerCase()}-`,
      LOG_LEVEL: 'warn',
    };
    api = run('processes/api.ts', env);
    codec = run('processes/codec-server.ts', env);
    plain = await newTemporalClient();
    await answering('the API process', api, `${apiBase}/readyz`);
    await answering('the codec server process', codec, `${codecBase}/healthz`);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([stop(api), stop(codec)]);
    await plain?.connection.close();
    await db.end();
  });

  test("the API process answers 404 on /codec; the codec server process decodes the API's workflow input", async () => {
    const tenant = unique('cproc').toLowerCase();
    const { apiKey } = await seedTenant(db, tenant);
    const operator = await createApiKey(db, tenant, ['operator']);
    const res = await fetch(`${apiBase}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to: '+447400123456', body: 'Your code is 482913', purpose: 'otp' }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    try {
      // The API's start relay starts the workflow; its input as Temporal stores it is ciphertext.
      const input = await eventually('the workflow to start', async () => {
        const history = await plain.workflow
          .getHandle(id)
          .fetchHistory()
          .catch(() => undefined);
        return (
          history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ??
          undefined
        );
      });
      const payloads = input.map((p) => ({
        metadata: Object.fromEntries(
          Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
        ),
        data: Buffer.from(p.data ?? []).toString('base64'),
      }));
      const decode = (base: string) =>
        fetch(`${base}/codec/decode`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${operator.secret}`,
            'content-type': 'application/json',
            'x-namespace': 'default',
          },
          body: JSON.stringify({ payloads }),
        });

      for (const [method, path] of [
        ['POST', '/codec/decode'],
        ['POST', '/codec/encode'],
        ['GET', '/codec/login'],
        ['OPTIONS', '/codec/decode'],
      ] as const)
        expect([method, path, (await fetch(`${apiBase}${path}`, { method })).status]).toEqual([
          method,
          path,
          404,
        ]);
      expect((await decode(apiBase)).status).toBe(404);

      const decoded = await decode(codecBase);
      expect(decoded.status).toBe(200);
      const [first] = ((await decoded.json()) as { payloads: { data?: string }[] }).payloads;
      const value = JSON.parse(Buffer.from(first!.data ?? '', 'base64').toString('utf8')) as object;
      expect(value).toMatchObject({ messageId: id, tenant, purpose: 'otp' });
      expect(JSON.stringify(value)).not.toContain('482913');
    } finally {
      await plain.workflow
        .getHandle(id)
        .terminate('test over')
        .catch(() => undefined);
    }
  });
});
