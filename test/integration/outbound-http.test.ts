import type { LookupAddress } from 'node:dns';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createOutboundHttp,
  OutboundRefusedError,
  OutboundResponseTooLargeError,
  OutboundTimeoutError,
  type OutboundHttp,
} from '../../clients/outbound-http';

// Real listeners on loopback addresses and the real guarded client (clients/outbound-http.ts).

interface Listener {
  url: string;
  hits: string[];
  server: Server;
}

const listeners: Listener[] = [];
const clients: OutboundHttp[] = [];

async function listen(
  host: string,
  answer: (res: import('node:http').ServerResponse) => void = (res) => res.writeHead(204).end(),
): Promise<Listener> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hits.push(req.url ?? '');
      answer(res);
    });
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const l = { url: `http://${host}:${(server.address() as AddressInfo).port}`, hits, server };
  listeners.push(l);
  return l;
}

function client(allow: string[], extra: Parameters<typeof createOutboundHttp>[0] | object = {}) {
  const c = createOutboundHttp({ httpsOnly: false, allow, ...extra });
  clients.push(c);
  return c;
}

/** A resolver answering as a DNS server under an attacker's control would: `name` → `addresses`. */
const resolver =
  (answers: Record<string, string[]>) =>
  (hostname: string, _opts: unknown, cb: (e: Error | null, a: LookupAddress[]) => void) => {
    const addresses = answers[hostname];
    if (!addresses) return cb(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }), []);
    cb(
      null,
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    );
  };

const post = (c: OutboundHttp, url: string) => c.post(url, { headers: {}, body: '{"x":1}' });

async function refusal(p: Promise<unknown>): Promise<OutboundRefusedError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OutboundRefusedError);
  return err as OutboundRefusedError;
}

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(
    listeners.map((l) => {
      l.server.closeAllConnections();
      return new Promise((r) => l.server.close(r));
    }),
  );
});

describe('guarded outbound HTTP', () => {
  test('loopback listeners on 127.0.0.1, 127.0.0.2 and behind localhost or a rebinding name get nothing', async () => {
    const one = await listen('127.0.0.1');
    const two = await listen('127.0.0.2');
    const port1 = new URL(one.url).port;
    const port2 = new URL(two.url).port;
    const c = client([], {
      lookup: resolver({
        'hooks.example.test': ['127.0.0.2'],
        // A rebinding server mixes a public answer with a private one.
        'mixed.example.test': ['93.184.216.34', '127.0.0.1'],
        'v6.example.test': ['::ffff:127.0.0.1'],
        'closed.example.test': ['127.0.0.2'],
      }),
    });
    expect(await refusal(post(c, `${one.url}/cb`))).toMatchObject({ range: 'loopback' });
    expect(await refusal(post(c, `${two.url}/cb`))).toMatchObject({ range: 'loopback' });
    expect(await refusal(post(c, `http://[::ffff:127.0.0.1]:${port1}/cb`))).toMatchObject({
      range: 'loopback',
    });
    // Names are judged by what they resolve to, in the connection's own lookup.
    expect(await refusal(post(c, `http://hooks.example.test:${port2}/cb`))).toMatchObject({
      range: 'loopback',
    });
    expect(await refusal(post(c, `http://mixed.example.test:${port1}/cb`))).toMatchObject({
      range: 'loopback',
    });
    expect(await refusal(post(c, `http://v6.example.test:${port1}/cb`))).toMatchObject({
      range: 'loopback',
    });
    // Refused in the lookup itself, before any connection: a closed port would answer ECONNREFUSED.
    const closed = await listen('127.0.0.2');
    const closedPort = new URL(closed.url).port;
    await new Promise((r) => closed.server.close(r));
    expect(await refusal(post(c, `http://closed.example.test:${closedPort}/cb`))).toMatchObject({
      range: 'loopback',
    });
    // `localhost` (and `x.localhost`, `localhost.`) are refused before any lookup.
    const real = client([]);
    expect(
      await refusal(real.post(`http://localhost:${port1}/cb`, { headers: {}, body: '' })),
    ).toMatchObject({ range: 'loopback' });
    expect(
      await refusal(real.post(`http://localhost.:${port1}/cb`, { headers: {}, body: '' })),
    ).toMatchObject({ range: 'loopback' });
    expect(one.hits).toEqual([]);
    expect(two.hits).toEqual([]);
  });

  test('an allowlisted address is reached, by IP or by a name resolving to it; nothing else is', async () => {
    const allowed = await listen('127.0.0.3');
    const denied = await listen('127.0.0.2');
    const port = new URL(allowed.url).port;
    const c = client(['127.0.0.3/32'], {
      lookup: resolver({ 'carrier.example.test': ['127.0.0.3'] }),
    });
    expect((await post(c, `${allowed.url}/a`)).status).toBe(204);
    expect((await post(c, `http://carrier.example.test:${port}/b`)).status).toBe(204);
    await refusal(post(c, `${denied.url}/c`));
    expect(allowed.hits).toEqual(['/a', '/b']);
    expect(denied.hits).toEqual([]);
  });

  test('a redirect from an allowed listener to a denied one is returned, never followed', async () => {
    const target = await listen('127.0.0.1');
    const redirector = await listen('127.0.0.3', (res) =>
      res.writeHead(307, { location: `${target.url}/internal` }).end(),
    );
    const c = client(['127.0.0.3/32']);
    const res = await post(c, `${redirector.url}/hook`);
    expect(res.status).toBe(307);
    expect(redirector.hits).toEqual(['/hook']);
    expect(target.hits).toEqual([]);
  });

  test('https only, no credentials in the URL, answers bounded in size and time', async () => {
    const big = await listen('127.0.0.3', (res) => res.writeHead(200).end(Buffer.alloc(200_000)));
    const silent = await listen('127.0.0.3', () => undefined);
    expect(
      await refusal(post(client(['127.0.0.3/32'], { httpsOnly: true }), `${big.url}/`)),
    ).toMatchObject({ reason: 'scheme' });
    const c = client(['127.0.0.3/32'], { maxResponseBytes: 1024, timeoutMs: 300 });
    expect(await refusal(post(c, big.url.replace('http://', 'http://u:p@')))).toMatchObject({
      reason: 'credentials',
    });
    expect(await refusal(post(c, 'not a url'))).toMatchObject({ reason: 'scheme' });
    await expect(post(c, `${big.url}/`)).rejects.toBeInstanceOf(OutboundResponseTooLargeError);
    await expect(post(c, `${silent.url}/`)).rejects.toBeInstanceOf(OutboundTimeoutError);
  });
});
