import type { Client } from '@temporalio/client';
import type { JsonPayload } from '../../codec-server/payloads';
import { BINARY_REDACTED } from '../../codec-server/redaction';
import { WITHHELD } from '../../codec-server/tenant-scope';
import { STEP_SUMMARIES } from '../../domain/step-summaries';
import { createApiKey } from '../../scripts/keys';
import { startPipeline, type Pipeline } from '../helpers/pipeline';
import { newTemporalClient } from '../helpers/stack';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');
const digits = (n: number) =>
  Array.from({ length: n }, () => Math.floor(Math.random() * 10)).join('');

describe('the codec server (/codec, a process of its own) for the Temporal UI and CLI', () => {
  let p: Pipeline;
  let plain: Client;
  let operator: { id: string; secret: string };
  const number = `+447400${digits(6)}`;
  const code = `${1 + Math.floor(Math.random() * 9)}${digits(5)}`;
  let messageId: string;
  let input: JsonPayload[];
  let summaries: JsonPayload[];
  const asJson = (pl: {
    metadata?: Record<string, Uint8Array> | null;
    data?: Uint8Array | null;
  }): JsonPayload => ({
    metadata: Object.fromEntries(
      Object.entries(pl.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
    data: Buffer.from(pl.data ?? []).toString('base64'),
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${p.codecBase}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const asOperator = { authorization: '', 'x-namespace': 'default' };

  beforeAll(async () => {
    p = await startPipeline({ codecServer: true });
    plain = await newTemporalClient();
    operator = await createApiKey(p.db, p.tenant, ['operator']);
    asOperator.authorization = `Bearer ${operator.secret}`;
    const res = await p.send({ to: number, body: `Your code is ${code}`, purpose: 'otp' });
    expect(res.status).toBe(202);
    messageId = ((await res.json()) as { id: string }).id;
    expect((await p.waitFinal([messageId], 60_000)).get(messageId)?.status).toBe('delivered');
    // The history as Temporal stores it, read by a client without the codec: ciphertext only.
    const history = await plain.workflow.getHandle(messageId).fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    input = (started?.input?.payloads ?? []).map(asJson);
    // The one-line summaries on the timeline (activities, local activities, timers), as stored.
    summaries = (history.events ?? []).flatMap((e) =>
      e.userMetadata?.summary ? [asJson(e.userMetadata.summary)] : [],
    );
  });
  afterAll(async () => {
    await plain?.connection.close();
    await p?.close();
  });

  test('the API process serves no /codec: the same requests get 404 there', async () => {
    expect(p.codecBase).not.toBe(p.base);
    for (const path of ['/codec/decode', '/codec/encode', '/codec/login']) {
      const res = await fetch(`${p.base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...asOperator },
        body: JSON.stringify(
          path === '/codec/login' ? { apiKey: operator.secret } : { payloads: input },
        ),
      });
      expect([path, res.status]).toEqual([path, 404]);
      expect(res.headers.get('set-cookie')).toBeNull();
    }
    expect((await fetch(`${p.base}/codec/login`)).status).toBe(404);
    expect((await p.app.inject({ method: 'OPTIONS', url: '/codec/decode' })).statusCode).toBe(404);
  });

  test('decodes a real workflow input into redacted JSON and audits it', async () => {
    expect(input.length).toBeGreaterThan(0);
    expect(unb64(input[0]!.metadata!.encoding)).toBe('binary/encrypted');
    const res = await post('/codec/decode', { payloads: input }, asOperator);
    expect(res.status).toBe(200);
    const raw = await res.text();
    const { payloads } = JSON.parse(raw) as { payloads: JsonPayload[] };
    expect(payloads).toHaveLength(input.length);
    expect(unb64(payloads[0]!.metadata!.encoding)).toBe('json/plain');
    const decoded = JSON.parse(unb64(payloads[0]!.data)) as Record<string, unknown>;
    // The input carries references: the number and text are sealed in message_intake (region keys).
    expect(decoded).toMatchObject({ messageId, tenant: p.tenant, purpose: 'otp' });
    expect(decoded).not.toHaveProperty('to');
    expect(decoded).not.toHaveProperty('body');
    // The second argument (workflow options) names no tenant or message: withheld from a tenant's operator.
    expect(payloads.slice(1).map((pl) => JSON.parse(unb64(pl.data)) as unknown)).toEqual(
      input.slice(1).map(() => WITHHELD),
    );
    const text = payloads.map((pl) => unb64(pl.data)).join('\n');
    for (const secret of [number, number.slice(1), number.slice(3), code])
      expect(text).not.toContain(secret);
    expect(raw).not.toContain(code);

    const { rows } = await p.db.query<{ tenant: string; subject: string; detail: unknown }>(
      `select tenant, subject, detail from audit_log where action = 'codec.decode' and actor = $1 order by seq`,
      [`operator:${operator.id}`],
    );
    expect(rows).toEqual([
      {
        tenant: p.tenant,
        subject: messageId,
        detail: { namespace: 'default', payloads: 1, scope: 'tenant' },
      },
      {
        tenant: p.tenant,
        subject: 'default',
        detail: {
          payloads: input.length,
          revealed: 1,
          withheld: input.length - 1,
          messages: [messageId],
          scope: 'tenant',
        },
      },
    ]);
  });

  test("the timeline's step summaries are fixed text: every operator reads them, of any tenant", async () => {
    expect(summaries.length).toBeGreaterThan(3);
    expect(summaries.every((pl) => unb64(pl.metadata!.encoding) === 'binary/encrypted')).toBe(true);
    const other = await createApiKey(p.db, `${p.tenant}-s`, ['operator']);
    for (const authorization of [asOperator.authorization, `Bearer ${other.secret}`]) {
      const res = await post(
        '/codec/decode',
        { payloads: summaries },
        { authorization, 'x-namespace': 'default' },
      );
      expect(res.status).toBe(200);
      const { payloads } = (await res.json()) as { payloads: JsonPayload[] };
      const texts = payloads.map((pl) => JSON.parse(unb64(pl.data)) as unknown);
      expect(texts.filter((t) => !Object.values(STEP_SUMMARIES).includes(t as never))).toEqual([]);
    }
  });

  test("an operator of another tenant gets nothing of this tenant's payloads; a platform operator does, audited per message", async () => {
    const other = await createApiKey(p.db, `${p.tenant}-b`, ['operator']);
    const res = await post(
      '/codec/decode',
      { payloads: input },
      { authorization: `Bearer ${other.secret}`, 'x-namespace': 'default' },
    );
    expect(res.status).toBe(200);
    const raw = await res.text();
    const { payloads } = JSON.parse(raw) as { payloads: JsonPayload[] };
    expect(payloads.map((pl) => JSON.parse(unb64(pl.data)) as unknown)).toEqual(
      input.map(() => WITHHELD),
    );
    expect(raw).not.toContain(messageId);
    expect(raw).not.toContain(p.tenant);
    const audit = async (actor: string) =>
      (
        await p.db.query<{ tenant: string; subject: string; detail: Record<string, unknown> }>(
          `select tenant, subject, detail from audit_log where action = 'codec.decode' and actor = $1 order by seq`,
          [actor],
        )
      ).rows;
    expect(await audit(`operator:${other.id}`)).toEqual([
      {
        tenant: `${p.tenant}-b`,
        subject: 'default',
        detail: {
          payloads: input.length,
          revealed: 0,
          withheld: input.length,
          messages: [],
          scope: 'tenant',
        },
      },
    ]);

    const platform = await createApiKey(p.db, `${p.tenant}-ops`, ['operator', 'platform-operator']);
    const all = await post(
      '/codec/decode',
      { payloads: input },
      { authorization: `Bearer ${platform.secret}`, 'x-namespace': 'default' },
    );
    const shown = ((await all.json()) as { payloads: JsonPayload[] }).payloads;
    expect(JSON.parse(unb64(shown[0]!.data))).toMatchObject({ messageId, tenant: p.tenant });
    const rows = await audit(`operator:${platform.id}`);
    // The revealed message's row is in its own tenant's audit.
    expect(rows[0]).toEqual({
      tenant: p.tenant,
      subject: messageId,
      detail: { namespace: 'default', payloads: 1, scope: 'platform' },
    });
    expect(rows[1]!.detail).toMatchObject({ revealed: input.length, messages: [messageId] });
  });

  test('encode passes through the codec; decoding redacts failure texts and drops non-JSON bytes', async () => {
    // Payloads that name no tenant: only a platform operator sees them.
    const platform = await createApiKey(p.db, p.tenant, ['operator', 'platform-operator']);
    const asPlatform = { ...asOperator, authorization: `Bearer ${platform.secret}` };
    const failure = {
      message: `carrier rejected ${number}: code ${code} (0x0000000B)`,
      stack_trace: `Error: submit to 447400${number.slice(7)} failed\n    at dispatch (carriers/smpp.ts:1:1)`,
    };
    const enc = await post(
      '/codec/encode',
      {
        payloads: [
          { metadata: { encoding: b64('json/plain') }, data: b64(JSON.stringify(failure)) },
          { metadata: { encoding: b64('binary/plain') }, data: b64(`raw ${number}`) },
        ],
      },
      asOperator,
    );
    expect(enc.status).toBe(200);
    const encoded = ((await enc.json()) as { payloads: JsonPayload[] }).payloads;
    expect(encoded.map((pl) => unb64(pl.metadata!.encoding))).toEqual([
      'binary/encrypted',
      'binary/encrypted',
    ]);
    const dec = await post('/codec/decode', { payloads: encoded }, asPlatform);
    expect(dec.status).toBe(200);
    const [f, bin] = ((await dec.json()) as { payloads: JsonPayload[] }).payloads.map(
      (pl) => JSON.parse(unb64(pl.data)) as unknown,
    );
    expect(f).toEqual({
      message: 'carrier rejected [number]: code •••• (0x0000000B)',
      stack_trace: 'Error: submit to [number] failed\n    at dispatch (carriers/smpp.ts:1:1)',
    });
    expect(bin).toBe(BINARY_REDACTED);
  });

  test('refuses callers without the operator role: no key 401, a sender key 403', async () => {
    const none = await post('/codec/decode', { payloads: input });
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toContain('application/problem+json');
    const sender = await post(
      '/codec/decode',
      { payloads: input },
      {
        authorization: `Bearer ${p.apiKey}`,
      },
    );
    expect(sender.status).toBe(403);
    const login = await post('/codec/login', { apiKey: p.apiKey });
    expect(login.status).toBe(403);
    expect(login.headers.get('set-cookie')).toBeNull();
    expect((await post('/codec/login', { apiKey: 'sk_nope' })).status).toBe(401);
  });

  test('a browser session: login sets an HttpOnly cookie that decodes, only from the UI origins', async () => {
    const login = await post('/codec/login', { apiKey: operator.secret });
    expect(login.status).toBe(200);
    const setCookie = login.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^codec_session=[A-Za-z0-9_-]{40,};/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Lax');
    expect(setCookie).toContain('Path=/codec');
    expect(setCookie).toContain('Max-Age=28800');
    expect(setCookie).not.toContain(operator.secret);
    const cookie = setCookie.split(';')[0]!;

    const ui = p.config.codec.uiOrigins[0]!;
    const viaCookie = await post('/codec/decode', { payloads: input }, { cookie, origin: ui });
    expect(viaCookie.status).toBe(200);
    expect(viaCookie.headers.get('access-control-allow-origin')).toBe(ui);
    expect(viaCookie.headers.get('access-control-allow-credentials')).toBe('true');
    expect(await viaCookie.text()).not.toContain(number.slice(3));

    const elsewhere = await post(
      '/codec/decode',
      { payloads: input },
      { cookie, origin: 'http://evil.example' },
    );
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.headers.get('access-control-allow-origin')).toBeNull();
    // The cookie authenticates nothing outside the codec server.
    expect(
      (await fetch(`${p.base}/v1/messages/${messageId}`, { headers: { cookie } })).status,
    ).toBe(401);

    const logout = await fetch(`${p.codecBase}/codec/logout`, {
      method: 'POST',
      headers: { cookie },
    });
    expect(logout.status).toBe(204);
    expect((await post('/codec/decode', { payloads: input }, { cookie })).status).toBe(401);
  });

  test('CORS preflight is answered for the Temporal UI origins only', async () => {
    const preflight = (origin: string) =>
      fetch(`${p.codecBase}/codec/decode`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,x-namespace',
        },
      });
    // The default origins follow TEMPORAL_UI_PORT: the stack's UI by IP and by name.
    expect(p.config.codec.uiOrigins).toHaveLength(2);
    for (const origin of p.config.codec.uiOrigins) {
      const res = await preflight(origin);
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(origin);
      expect(res.headers.get('access-control-allow-credentials')).toBe('true');
      expect(res.headers.get('access-control-allow-headers')).toBe(
        'content-type, x-namespace, authorization',
      );
      expect(res.headers.get('access-control-allow-methods')).toBe('POST, OPTIONS');
    }
    const other = await preflight('http://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(other.headers.get('access-control-allow-credentials')).toBeNull();
  });

  test('the sign-in page carries no personal data and a strict CSP', async () => {
    const res = await fetch(`${p.codecBase}/codec/login`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    const html = await res.text();
    expect(html).toContain('Operator API key');
    expect(html).not.toMatch(/\+\d{7,}/);
  });
});
