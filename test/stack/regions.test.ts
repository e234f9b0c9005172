import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { eventually } from '../helpers/eventually';
import { newTemporalClient, stack } from '../helpers/stack';

/**
 * `npm start` serves every region: its own entry point (scripts/start.sh) brings up a worker per
 * region, and a message to each region is delivered by that region's worker. Runs in the `stack`
 * project: it uses the default ports of `npm start` (the API's and the codec server's aside, which it moves).
 */
const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer()
      .once('error', () => resolve(false))
      .listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

let start: ChildProcess | undefined;
let output = '';

afterAll(async () => {
  if (!start || start.exitCode !== null) return;
  const exited = new Promise((resolve) => start!.once('exit', resolve));
  start.kill('SIGTERM');
  await exited;
});

test('after npm start, messages to +44, +49 and +86 are delivered by their own region worker', async () => {
  // npm start's fixed ports: a running `npm start` would answer instead of this one.
  for (const port of [2775, 2776, 9464, 9465, 9466, 9467, 9468, 9469])
    expect({ port, free: await portFree(port) }).toEqual({ port, free: true });
  const apiPort = await freePort();
  const codecPort = await freePort();
  start = spawn('bash', [join(stack.rootDir, 'scripts', 'start.sh')], {
    cwd: stack.rootDir,
    // The anomaly schedule would outlive the test; nothing else differs from a newcomer's run.
    env: {
      ...process.env,
      API_PORT: String(apiPort),
      CODEC_PORT: String(codecPort),
      ANOMALY_INTERVAL_SECONDS: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: false,
  });
  const collect = (b: Buffer) => {
    output = (output + b.toString()).slice(-20_000);
  };
  start.stdout!.on('data', collect);
  start.stderr!.on('data', collect);
  const api = `http://127.0.0.1:${apiPort}`;
  await eventually(
    'npm start to serve the API',
    async () => {
      if (start!.exitCode !== null) throw new Error(`npm start exited:\n${output}`);
      if (!output.includes('SMS pipeline is running')) return undefined;
      return (await fetch(`${api}/readyz`).catch(() => undefined))?.ok || undefined;
    },
    600_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; npm start said:\n${output}`);
  });
  const { secret } = JSON.parse(readFileSync(join(stack.dataDir, 'dev-api-key.json'), 'utf8')) as {
    secret: string;
  };
  const headers = { authorization: `Bearer ${secret}`, 'content-type': 'application/json' };

  const destinations = { global: '+447400123456', eu: '+4915112345678', cn: '+8613912345678' };
  const sent: Record<string, string> = {};
  for (const [region, to] of Object.entries(destinations)) {
    const res = await fetch(`${api}/v1/messages`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ to, body: 'Your code is 482913', purpose: 'otp' }),
    });
    expect({ region, status: res.status }).toEqual({ region, status: 202 });
    sent[region] = ((await res.json()) as { id: string }).id;
  }

  const temporal = await newTemporalClient();
  try {
    for (const [region, id] of Object.entries(sent)) {
      const status = await eventually(
        `message to region ${region} to reach a final status`,
        async () => {
          const res = await fetch(`${api}/v1/messages/${id}`, { headers });
          const m = (await res.json()) as { status: string };
          return ['accepted', 'tokenized', 'routed', 'submitted'].includes(m.status)
            ? undefined
            : m.status;
        },
        300_000,
      );
      expect({ region, status }).toEqual({ region, status: 'delivered' });
      // Every workflow task of the message was completed by a worker of its own region.
      const identities = new Set<string>();
      const history = await temporal.workflow.getHandle(id).fetchHistory();
      for (const event of history.events ?? [])
        if (event.workflowTaskCompletedEventAttributes?.identity)
          identities.add(event.workflowTaskCompletedEventAttributes.identity.split('/')[0]!);
      expect({ region, identities: [...identities] }).toEqual({
        region,
        identities: [`sms-worker-${region}`],
      });
    }
  } finally {
    await temporal.connection.close();
  }
  // Builds, starts six processes and delivers three messages: generous on a busy 2-core machine.
}, 1_200_000);
