import { connect } from 'node:net';
import { createApiKey } from '../../db/api-keys';
import { MAX_PROBLEM_DETAIL, MAX_PROBLEM_FIELDS } from '../../api/plugins/problem';
import { startApi, type TestApi } from '../helpers/api';
import { unique } from '../helpers/stack';

/**
 * Input that must be refused before anything is stored or sent, answered with a bounded problem+json:
 * bodies a handset would render wrongly (control characters, lone surrogates, bytes that are not
 * UTF-8), and the refusals Node and Fastify make before a route runs (header too large, body too
 * large, an undecodable URL), over a real socket.
 */
describe('input refusals through a listening API', () => {
  let api: TestApi;
  let base: string;
  let key: string;
  const tenant = unique('refusals').toLowerCase();
  const PHONE = '+447400123456';

  beforeAll(async () => {
    api = await startApi({ API_BODY_LIMIT_BYTES: '262144' });
    base = await api.app.listen({ host: '127.0.0.1', port: 0 });
    key = (await createApiKey(api.db, tenant, ['sender'])).secret;
  });
  afterAll(async () => api?.close());

  const post = (raw: string | Uint8Array, headers: Record<string, string> = {}) =>
    fetch(`${base}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
      body: raw,
    });
  const problemOf = async (res: Response) => {
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const text = await res.text();
    expect(text).not.toContain(PHONE.slice(1));
    return JSON.parse(text) as {
      status: number;
      title: string;
      detail?: string;
      fields?: string[];
    };
  };
  /** The JSON text of a send whose body is `bodyJson` (already a JSON string literal). */
  const sendJson = (bodyJson: string) => `{"to":"${PHONE}","purpose":"otp","body":${bodyJson}}`;

  test.each([
    ['NUL', '"code \\u0000 123456"'],
    ['BEL', '"ring \\u0007"'],
    ['ESC', '"\\u001b[31m 123456"'],
    ['DEL', '"a \\u007f b"'],
    ['a C1 control', '"a \\u0085 b"'],
  ])('a body with %s is refused with 400 naming body', async (_name, bodyJson) => {
    const res = await post(sendJson(bodyJson));
    expect(res.status).toBe(400);
    const p = await problemOf(res);
    expect(p.fields).toEqual(['body']);
    expect(p.detail).toMatch(/control character/);
  });

  test('a body with a lone surrogate is refused with 400 naming body', async () => {
    for (const bodyJson of ['"abc \\ud800"', '"\\udc00 abc"']) {
      const res = await post(sendJson(bodyJson));
      expect(res.status).toBe(400);
      const p = await problemOf(res);
      expect(p.fields).toEqual(['body']);
      expect(p.detail).toMatch(/lone surrogate/);
    }
  });

  test('a request whose bytes are not UTF-8 is refused with 400 naming body', async () => {
    const raw = Buffer.concat([
      Buffer.from(`{"to":"${PHONE}","purpose":"otp","body":"code `),
      Buffer.from([0xff, 0xfe, 0xc3]), // never valid in UTF-8; a truncated sequence at the end
      Buffer.from('"}'),
    ]);
    const res = await post(raw);
    expect(res.status).toBe(400);
    const p = await problemOf(res);
    expect(p.fields).toEqual(['body']);
    expect(p.detail).toMatch(/UTF-8/);
  });

  test('line feed, carriage return and tab are accepted', async () => {
    const res = await post(sendJson('"line one\\r\\nline two\\tend"'));
    expect(res.status).toBe(202);
  });

  test('3,000 unknown fields: one bounded 400', async () => {
    const body: Record<string, unknown> = { to: PHONE, body: 'hello', purpose: 'otp' };
    for (let i = 0; i < 3000; i++) body[`unknown_field_number_${i}`] = i;
    const res = await post(JSON.stringify(body));
    expect(res.status).toBe(400);
    const text = await res.clone().text();
    const p = await problemOf(res);
    expect(p.fields!.length).toBeLessThanOrEqual(MAX_PROBLEM_FIELDS);
    expect(p.fields![0]).toBe('unknown_field_number_0');
    expect(p.detail!.length).toBeLessThanOrEqual(MAX_PROBLEM_DETAIL);
    expect(p.detail).toMatch(/3000 fields at fault, the first 20 listed/);
    expect(text.length).toBeLessThan(4_000);
  });

  test('a 20 KB header: 431 as problem+json (Node refuses it before Fastify)', async () => {
    const res = await fetch(`${base}/healthz`, { headers: { 'x-padding': 'a'.repeat(20_000) } });
    expect(res.status).toBe(431);
    const p = await problemOf(res);
    expect(p).toMatchObject({ status: 431, title: 'Request Header Fields Too Large' });
  });

  test('a malformed request line: 400 as problem+json', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const { port } = new URL(base);
      const socket = connect(Number(port), '127.0.0.1', () =>
        socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n'),
      );
      let data = '';
      socket.on('data', (d) => (data += d.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toMatch(/content-type: application\/problem\+json/i);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ status: 400 });
  });

  test('a body over the limit: 413 as problem+json', async () => {
    const res = await post(sendJson(JSON.stringify('x'.repeat(300_000))));
    expect(res.status).toBe(413);
    expect(await problemOf(res)).toMatchObject({ status: 413 });
  });

  test('a URL that does not decode: 400 as problem+json, the path not echoed', async () => {
    const res = await fetch(`${base}/v1/messages/${PHONE.slice(1)}%E0%A4%A`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(res.status).toBe(400);
    const p = await problemOf(res);
    expect(p).toMatchObject({ status: 400, title: 'Bad URL' });
  });

  test('no refused request stored a message', async () => {
    // Only the accepted send (line feed, carriage return, tab) was admitted.
    const { rows } = await api.db.query<{ n: number }>(
      'select count(*)::int as n from message_charges where tenant = $1',
      [tenant],
    );
    expect(rows[0]!.n).toBe(1);
  });
});
