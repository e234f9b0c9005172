import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signWebhook, verifyWebhook } from '../../domain/webhook-signature';
import { callWithKey } from '../helpers/api';
import { startPipeline, type Pipeline } from '../helpers/pipeline';

describe('HTTP carrier with signed receipt webhooks, and signed status callbacks', () => {
  let p: Pipeline;
  let client: Server;
  let clientUrl: string;
  const calls: { headers: IncomingHttpHeaders; body: string }[] = [];
  let failNext = 1;
  let callbackSecret: string;

  beforeAll(async () => {
    // The client's endpoint below listens on loopback, which callbacks may reach only when allowed.
    p = await startPipeline({
      smscCount: 0,
      httpCarrier: true,
      env: { OUTBOUND_ALLOW_CIDRS: '127.0.0.1/32' },
    });
    // The tenant's own callback signing secret (POST /v1/callback-secrets, admin), shown once.
    const rotated = await callWithKey(p.base, p.adminKey, 'POST', '/v1/callback-secrets', {});
    expect(rotated.status).toBe(201);
    callbackSecret = rotated.json.secret as string;
    // The client's callback endpoint: fails once, then accepts.
    client = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        calls.push({ headers: req.headers, body });
        res.statusCode = failNext-- > 0 ? 503 : 204;
        res.end();
      });
    });
    await new Promise<void>((r) => client.listen(0, '127.0.0.1', r));
    clientUrl = `http://127.0.0.1:${(client.address() as AddressInfo).port}/sms-status`;
  });
  afterAll(async () => {
    await p?.close();
    await new Promise((r) => client.close(r));
  });

  test('a message goes through the HTTP carrier, its receipt arrives at the webhook, and the client is called back (signed, retried)', async () => {
    const res = await p.send({
      to: '+447400555501',
      body: 'Your code is 640022',
      purpose: 'otp',
      callbackUrl: clientUrl,
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const final = await p.waitFinal([id]);
    expect(final.get(id)).toMatchObject({ status: 'delivered', carrier: 'http-a' });
    expect(p.http!.received.map((r) => r.text)).toContain('Your code is 640022');

    const deadline = Date.now() + 30_000;
    const callsFor = () => calls.filter((c) => c.body.includes(id));
    while (callsFor().length < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const delivered = callsFor();
    expect(delivered.length).toBe(2); // the first answered 503 and was retried
    for (const call of delivered) {
      expect(JSON.parse(call.body)).toMatchObject({ id, status: 'delivered' });
      expect(call.body).not.toContain('447400555501');
      expect(call.body).not.toContain('640022');
      const verdict = verifyWebhook(
        callbackSecret,
        call.headers,
        call.body,
        Math.floor(Date.now() / 1000),
        new Set(),
      );
      expect(verdict.ok).toBe(true);
    }
  });

  test('the receipt webhook refuses bad signatures, stale timestamps and replays', async () => {
    const res = await p.send({ to: '+447400555502', body: 'hello', purpose: 'transactional' });
    const { id } = (await res.json()) as { id: string };
    await p.waitFinal([id]);
    const { rows } = await p.db.query<{ carrier_message_id: string }>(
      'select carrier_message_id from dispatch_journal where message_id = $1',
      [id],
    );
    const body = JSON.stringify({ id: rows[0]!.carrier_message_id, status: 'delivered' });
    const secret = 'test-http-carrier-webhook-secret';
    const post = (ts: number, signature: string) =>
      fetch(`${p.base}/v1/carriers/http-a/receipts`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-timestamp': String(ts),
          'x-signature': signature,
        },
        body,
      });
    const now = Math.floor(Date.now() / 1000);
    expect((await post(now, signWebhook('wrong-secret-wrong-secret', now, body))).status).toBe(401);
    expect((await post(now - 600, signWebhook(secret, now - 600, body))).status).toBe(401);
    const fresh = now + 1;
    expect((await post(fresh, signWebhook(secret, fresh, body))).status).toBe(204);
    const replay = await post(fresh, signWebhook(secret, fresh, body));
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { detail: string }).detail).toContain('replayed');
    const unknownCarrier = await fetch(`${p.base}/v1/carriers/nope/receipts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(unknownCarrier.status).toBe(404);
  });
});
