import {
  createServer,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkWebhookSignature } from '../../domain/webhook-signature';
import { callWithKey } from '../helpers/api';
import { eventually } from '../helpers/eventually';
import { seedTenant, startPipeline, type Pipeline } from '../helpers/pipeline';
import { unique } from '../helpers/stack';

/**
 * A tenant's callbackUrl cannot make the worker call inside (loopback, private,
 * metadata addresses, or a redirect to them), while an HTTP carrier the operator allowlisted on
 * loopback still delivers; each tenant's callbacks are signed with its own rotatable secret.
 */
interface Listener {
  url: string;
  calls: { path: string; headers: IncomingHttpHeaders; body: string }[];
  server: Server;
}

async function listen(
  host: string,
  answer: (res: ServerResponse) => void = (res) => res.writeHead(204).end(),
): Promise<Listener> {
  const calls: Listener['calls'] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      calls.push({ path: req.url ?? '', headers: req.headers, body });
      answer(res);
    });
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  return { url: `http://${host}:${(server.address() as AddressInfo).port}`, calls, server };
}

describe('outbound callbacks: no way inside, and per-tenant signatures', () => {
  let p: Pipeline;
  let loopback: Listener; // 127.0.0.1, where Vault, Temporal and the simulators live
  let otherLoopback: Listener; // 127.0.0.2
  let target: Listener; // 127.0.0.1: where the redirect points
  let redirector: Listener; // 127.0.0.3 (allowlisted): answers 302 to `target`
  let receiver: Listener; // 127.0.0.3 (allowlisted): a client's real endpoint
  let tenantB: string;
  let keysB: { apiKey: string; adminKey: string };
  const listeners: Listener[] = [];

  beforeAll(async () => {
    loopback = await listen('127.0.0.1');
    otherLoopback = await listen('127.0.0.2');
    target = await listen('127.0.0.1');
    redirector = await listen('127.0.0.3', (res) =>
      res.writeHead(302, { location: `${target.url}/internal` }).end(),
    );
    receiver = await listen('127.0.0.3');
    listeners.push(loopback, otherLoopback, target, redirector, receiver);
    // Callbacks may reach 127.0.0.3 only; the HTTP carrier simulator (127.0.0.1) is allowlisted for
    // that carrier alone (test/helpers/pipeline.ts: allowCidrs of `http-a`).
    p = await startPipeline({
      smscCount: 0,
      httpCarrier: true,
      env: { OUTBOUND_ALLOW_CIDRS: '127.0.0.3/32' },
    });
    tenantB = unique('tenant').toLowerCase();
    keysB = await seedTenant(p.db, tenantB);
  });

  afterAll(async () => {
    await p?.close();
    await Promise.all(
      listeners.map((l) => {
        l.server.closeAllConnections();
        return new Promise((r) => l.server.close(r));
      }),
    );
  });

  const rotate = async (adminKey: string, overlapSeconds?: number) => {
    const r = await callWithKey(
      p.base,
      adminKey,
      'POST',
      '/v1/callback-secrets',
      overlapSeconds === undefined ? {} : { overlapSeconds },
    );
    expect(r.status).toBe(201);
    expect(r.headers.get('cache-control')).toBe('no-store');
    return r.json as { id: string; secret: string; previous: { id: string; retiresAt: string }[] };
  };

  const send = (key: string, to: string, callbackUrl: string) =>
    callWithKey(p.base, key, 'POST', '/v1/messages', {
      to,
      body: 'Your code is 551234',
      purpose: 'otp',
      callbackUrl,
    });

  test('a tenant without a signing secret cannot ask for callbacks (422); its admin creates one', async () => {
    const refused = await send(keysB.apiKey, '+447400555601', `${receiver.url}/b`);
    expect(refused.status).toBe(422);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    await rotate(keysB.adminKey);
  });

  test('callback URLs on loopback, link-local, with credentials or a denied name are refused at accept (400), and nothing arrives', async () => {
    await rotate(p.adminKey);
    const port = new URL(loopback.url).port;
    const urls = [
      `${loopback.url}/cb`,
      `${otherLoopback.url}/cb`,
      `http://[::ffff:127.0.0.1]:${port}/cb`,
      `http://[::1]:${port}/cb`,
      `http://localhost:${port}/cb`,
      'http://169.254.169.254/latest/meta-data/iam',
      'http://10.0.0.5/cb',
      'https://user:secret-pw@hooks.example.com/cb',
    ];
    for (const url of urls) {
      const r = await send(p.apiKey, '+447400555602', url);
      expect({ url, status: r.status }).toEqual({ url, status: 400 });
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(r.json.title).toBe('Callback URL not allowed');
      expect(JSON.stringify(r.json)).not.toContain('secret-pw');
    }
    expect(loopback.calls).toEqual([]);
    expect(otherLoopback.calls).toEqual([]);
  });

  test('a callback behind a redirect to loopback is not followed, while the allowlisted HTTP carrier delivers', async () => {
    const r = await send(p.apiKey, '+447400555603', `${redirector.url}/hook`);
    expect(r.status).toBe(202);
    const id = r.json.id as string;
    const final = await p.waitFinal([id]);
    // The carrier simulator on 127.0.0.1 was reached: its own allowlist.
    expect(final.get(id)).toMatchObject({ status: 'delivered', carrier: 'http-a' });
    await eventually('the callback reached the redirecting endpoint', async () =>
      redirector.calls.some((c) => c.body.includes(id)) ? true : undefined,
    );
    // A redirect is final (never followed, never retried): the status stays readable through the API.
    expect(redirector.calls.filter((c) => c.body.includes(id))).toHaveLength(1);
    expect(target.calls).toEqual([]);
    expect(loopback.calls).toEqual([]);
    expect(otherLoopback.calls).toEqual([]);
  });

  test("tenant A cannot verify tenant B's callback; rotation sends both signatures during the overlap", async () => {
    // No overlap: each tenant starts this test with exactly one valid secret.
    const secretA = await rotate(p.adminKey, 0);
    const secretB = await rotate(keysB.adminKey, 0);
    const a = await send(p.apiKey, '+447400555604', `${receiver.url}/a`);
    const b = await send(keysB.apiKey, '+447400555605', `${receiver.url}/b`);
    expect([a.status, b.status]).toEqual([202, 202]);
    const callOf = (id: string) =>
      eventually(`the callback of ${id}`, async () =>
        receiver.calls.find((c) => c.body.includes(id)),
      );
    const callA = await callOf(a.json.id as string);
    const callB = await callOf(b.json.id as string);
    const verify = (secret: string | string[], call: typeof callA) =>
      checkWebhookSignature(secret, call.headers, call.body, Math.floor(Date.now() / 1000)).ok;
    expect(verify(secretA.secret, callA)).toBe(true);
    expect(verify(secretB.secret, callB)).toBe(true);
    expect(verify(secretA.secret, callB)).toBe(false);
    expect(verify(secretB.secret, callA)).toBe(false);

    // A rotates again: the previous secret keeps verifying during the overlap (two v1= signatures).
    const next = await rotate(p.adminKey);
    expect(next.previous.map((x) => x.id)).toContain(secretA.id);
    const c = await send(p.apiKey, '+447400555606', `${receiver.url}/a2`);
    const callC = await callOf(c.json.id as string);
    expect(String(callC.headers['x-signature']).split(',')).toHaveLength(2);
    expect(verify(next.secret, callC)).toBe(true);
    expect(verify(secretA.secret, callC)).toBe(true);
    expect(verify(secretB.secret, callC)).toBe(false);

    // Rotating with no overlap (a leaked secret) retires the older ones at once.
    const fresh = await rotate(p.adminKey, 0);
    const d = await send(p.apiKey, '+447400555607', `${receiver.url}/a3`);
    const callD = await callOf(d.json.id as string);
    expect(String(callD.headers['x-signature']).split(',')).toHaveLength(1);
    expect(verify(fresh.secret, callD)).toBe(true);
    expect(verify([next.secret, secretA.secret], callD)).toBe(false);

    // The secrets are stored sealed: no row holds one in clear.
    const { rows } = await p.db.query<{ sealed: string }>(
      'select sealed from callback_signing_secrets where tenant in ($1, $2)',
      [p.tenant, tenantB],
    );
    const stored = rows.map((r) => r.sealed).join('\n');
    for (const s of [secretA, secretB, next, fresh]) expect(stored).not.toContain(s.secret);
  });
});
