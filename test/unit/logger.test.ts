import { ulid } from 'ulid';
import { newMessageId } from '../../domain/ids';
import { CODE_MASK, EMAIL_MASK, NUMBER_MASK } from '../../domain/masking';
import { createLogger, redactLogObject, REDACT_PATHS, type Logger } from '../../config/logger';

const NUMBER = '+447400123456';
const DIGITS = '447400123456';
const NSN = '7400123456';
const CODE = '482913';

/** A logger writing into memory: pino accepts any `{ write(s) }` as its destination. */
function capture(): { log: Logger; lines: () => Record<string, unknown>[]; raw: () => string } {
  const chunks: string[] = [];
  const log = createLogger('logger-test', 'debug', { write: (s: string) => void chunks.push(s) });
  return {
    log,
    raw: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

function expectClean(raw: string): void {
  for (const secret of [NUMBER, DIGITS, NSN, CODE]) expect(raw).not.toContain(secret);
}

describe('createLogger: no phone number or code reaches a log line', () => {
  test('inside the message string, literal or interpolated', () => {
    const { log, lines, raw } = capture();
    log.info(`sending to ${NUMBER}, your code is ${CODE}`);
    log.info('sending to %s with code %s', NUMBER, CODE);
    log.info({ messageId: 'x' }, 'to %s, again as a number: %d', DIGITS, Number(DIGITS));
    expectClean(raw());
    const [a, b, c] = lines();
    expect(a?.msg).toBe(`sending to ${NUMBER_MASK}, your code is ${CODE_MASK}`);
    expect(b?.msg).toBe(`sending to ${NUMBER_MASK} with code ${CODE_MASK}`);
    expect(c?.msg).toBe(`to ${NUMBER_MASK}, again as a number: ${NUMBER_MASK}`);
  });

  test('a body quoted anywhere is what a reviewer sees of it: numbers and codes in any digit script, e-mail addresses', () => {
    const { log, lines, raw } = capture();
    const body = 'رمز التحقق ٤٨٢٩١٣، اتصل ٠٥٠ ١٢٣ ٤٥٦٧ أو ana@example.com';
    log.warn({ detail: `carrier echoed "${body}"` }, 'rejected: %s', body);
    expect(raw()).not.toContain('ana@example.com');
    expect(raw()).not.toMatch(/[٠-٩]{3}/);
    const expected = `رمز التحقق ${CODE_MASK}، اتصل ${NUMBER_MASK} أو ${EMAIL_MASK}`;
    expect(lines()[0]).toMatchObject({
      msg: `rejected: ${expected}`,
      detail: `carrier echoed "${expected}"`,
    });
  });

  test('inside nested fields, arrays, Maps and object keys', () => {
    const { log, lines, raw } = capture();
    log.info(
      {
        carrier: { response: { detail: `number ${NUMBER} barred`, list: [`+44 7400 123456`] } },
        tags: new Map([['k', `code ${CODE}`]]),
        [`by-${DIGITS}`]: true,
      },
      'done',
    );
    expectClean(raw());
    const [line] = lines();
    expect(line?.carrier).toEqual({
      response: { detail: `number ${NUMBER_MASK} barred`, list: [NUMBER_MASK] },
    });
    expect(line?.tags).toEqual({ k: `code ${CODE_MASK}` });
  });

  test('inside an Error: message and stack redacted, other properties (a carrier response) dropped', () => {
    const { log, lines, raw } = capture();
    const err = Object.assign(new Error(`carrier rejected ${NUMBER}: code ${CODE}`), {
      code: 'E_REJECTED',
      response: { body: `Your code is ${CODE}`, to: NUMBER, secretHeader: 'x-y' },
    });
    log.error(err); // no message: pino would fall back to err.message
    log.error({ err }, 'dispatch failed');
    log.warn({ attempt: 2, failure: { cause: err } }, 'nested error');
    expectClean(raw());
    expect(raw()).not.toContain('secretHeader');
    const [a, b, c] = lines();
    expect(a?.msg).toBe(`carrier rejected ${NUMBER_MASK}: code ${CODE_MASK}`);
    for (const serialized of [a?.err, b?.err, (c?.failure as { cause: unknown }).cause]) {
      expect(Object.keys(serialized as object).sort()).toEqual([
        'code',
        'message',
        'stack',
        'type',
      ]);
      expect(serialized).toMatchObject({
        type: 'Error',
        code: 'E_REJECTED',
        message: `carrier rejected ${NUMBER_MASK}: code ${CODE_MASK}`,
      });
      const stack = (serialized as { stack: string }).stack;
      expect(stack).toContain(`Error: carrier rejected ${NUMBER_MASK}`);
      // Stack positions stay readable: `file.ts:123:45`.
      expect(stack).toMatch(/logger\.test\.ts:\d+:\d+/);
    }
    expect(b?.msg).toBe('dispatch failed');
  });

  test('error causes are whitelisted too, and thrown non-errors are strings', () => {
    const inner = Object.assign(new Error(`pdu for ${NUMBER}`), { pdu: { short_message: CODE } });
    const outer = new Error('submit failed', { cause: inner });
    const out = redactLogObject({ err: outer, thrown: { err: `plain ${DIGITS}` } });
    expect(out.err).toMatchObject({
      type: 'Error',
      message: 'submit failed',
      cause: { type: 'Error', message: `pdu for ${NUMBER_MASK}` },
    });
    expect(JSON.stringify(out)).not.toContain(CODE);
    expect(JSON.stringify(out)).not.toContain(DIGITS);
  });

  test('requests: method, path without query string, id; responses: status code only', () => {
    const { log, lines, raw } = capture();
    log.info(
      {
        req: {
          method: 'POST',
          url: `/v1/messages?to=${encodeURIComponent(NUMBER)}&code=${CODE}`,
          id: 'req-7',
          headers: { authorization: 'Bearer s3cret', 'x-api-key': 'k' },
          body: { to: NUMBER },
        },
        res: { statusCode: 202, headers: { 'set-cookie': 'a=b' }, payload: NUMBER },
      },
      'request completed',
    );
    expectClean(raw());
    expect(raw()).not.toContain('s3cret');
    const [line] = lines();
    expect(line?.req).toEqual({ method: 'POST', url: '/v1/messages', id: 'req-7' });
    expect(line?.res).toEqual({ statusCode: 202 });
  });

  test('a URL inside a string: the number in its query is masked, the port kept', () => {
    const { log, lines, raw } = capture();
    log.info({ callback: `http://localhost:7233/hook?to=%2B${DIGITS}&otp=${CODE}` }, 'callback');
    expectClean(raw());
    expect(lines()[0]?.callback).toBe(
      `http://localhost:7233/hook?to=%2B${NUMBER_MASK}&otp=${CODE_MASK}`,
    );
  });

  test('child bindings are redacted, for grandchildren too', () => {
    const { log, lines, raw } = capture();
    const child = log.child({ subscriber: `s ${NUMBER}` });
    child.child({ step: 'dispatch', note: `code ${CODE}` }).info('step');
    expectClean(raw());
    expect(lines()[0]).toMatchObject({
      subscriber: `s ${NUMBER_MASK}`,
      step: 'dispatch',
      note: `code ${CODE_MASK}`,
      msg: 'step',
    });
  });

  test('what operators need to correlate is kept: message ids, run ids, timestamps, durations, ports', () => {
    const { log, lines } = capture();
    const messageId = newMessageId(ulid);
    const fields = {
      messageId,
      workflowId: messageId,
      runId: '0b2a8f0e-7e0c-4b5e-9c1a-5f6c7d8e9f00',
      latencyMs: 12,
      durationMs: 48_213,
      port: 7233,
      attempt: 3,
      ok: true,
      at: '2024-05-12T10:20:30.123Z',
      startedAt: new Date('2024-05-12T10:20:30.123Z'),
      carrierAddr: '127.0.0.1:2775',
      commandStatus: '0x0000000B',
      temporal: 'http://localhost:7233',
    };
    log.info(fields, `sent ${messageId} in 12ms`);
    const [line] = lines();
    expect(line).toMatchObject({ ...fields, startedAt: '2024-05-12T10:20:30.123Z' });
    expect(line?.msg).toBe(`sent ${messageId} in 12ms`);
    expect(line?.level).toBe(30);
    expect(typeof line?.time).toBe('string');
  });

  test('the REDACT_PATHS fields are censored, at the top level and one level down', () => {
    const { log, lines, raw } = capture();
    log.info(
      {
        to: NUMBER,
        from: 'ACME',
        body: `Your code is ${CODE}`,
        token: 'tok',
        password: 'pw',
        pdu: { destination_addr: NUMBER, short_message: CODE, msisdn: DIGITS },
        message: { to: NUMBER, body: 'hello', number: 7400123456 },
      },
      'censored',
    );
    expectClean(raw());
    const [line] = lines();
    for (const key of ['to', 'from', 'body', 'token', 'password']) {
      expect(line?.[key]).toBe('[redacted]');
    }
    expect(line?.pdu).toEqual({
      destination_addr: '[redacted]',
      short_message: '[redacted]',
      msisdn: '[redacted]',
    });
    expect(line?.message).toEqual({ to: '[redacted]', body: '[redacted]', number: '[redacted]' });
    expect(REDACT_PATHS).toContain('*.to');
  });

  test('the key denylist censors its fields at any depth, in objects, arrays, Maps and child bindings', () => {
    const { log, lines, raw } = capture();
    const secrets = {
      callbackUrl: 'https://client.example/hook?sig=cb-secret-in-url',
      webhookSecret: 'carrier-webhook-secret-value',
      apiKey: 'sk_live_api-key-value',
      signingSecret: 'signing-secret-value',
      vault_token: 'hvs.vault-token-value',
      Authorization: 'Bearer bearer-value',
    };
    const pdu = {
      source_addr: 'ACME-SENDER',
      destination_addr: NUMBER,
      short_message: 'plain words',
      message_payload: 'payload words',
      from: 'FromName',
      command: 'submit_sm',
    };
    const deep = { l1: { l2: { l3: { l4: { pdu, secrets, list: [{ to: 'x', sender: 'y' }] } } } } };
    log.info({ deep, tags: new Map([['password', 'map-password-value']]) }, 'deep');
    log.child({ carrier: { config: { password: 'child-password-value' } } }).info('child');
    const text = raw();
    expectClean(text);
    for (const v of [...Object.values(secrets), 'ACME-SENDER', 'plain words', 'payload words']) {
      expect(text).not.toContain(v);
    }
    for (const v of ['FromName', 'map-password-value', 'child-password-value', '"x"', '"y"']) {
      expect(text).not.toContain(v);
    }
    const [line, child] = lines();
    const l4 = (line?.deep as { l1: { l2: { l3: { l4: Record<string, unknown> } } } }).l1.l2.l3.l4;
    expect(l4.pdu).toEqual({
      source_addr: '[redacted]',
      destination_addr: '[redacted]',
      short_message: '[redacted]',
      message_payload: '[redacted]',
      from: '[redacted]',
      command: 'submit_sm',
    });
    expect(Object.values(l4.secrets as object).every((v) => v === '[redacted]')).toBe(true);
    expect(line?.tags).toEqual({ password: '[redacted]' });
    expect(child?.carrier).toEqual({ config: { password: '[redacted]' } });
  });

  test('cycles, depth and buffers are safe', () => {
    const { log, lines, raw } = capture();
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    let deep: Record<string, unknown> = { leaf: NUMBER };
    for (let i = 0; i < 20; i++) deep = { deeper: deep };
    log.info({ cyclic, deep, bytes: Buffer.from(NUMBER) }, 'odd shapes');
    expectClean(raw());
    const [line] = lines();
    expect(line?.cyclic).toEqual({ name: 'loop', self: '[circular]' });
    expect(JSON.stringify(line?.deep)).toContain('[truncated]');
    expect(line?.bytes).toBe(`[binary ${NUMBER.length} bytes]`);
  });
});

describe('redactLogObject', () => {
  test('returns a redacted copy and leaves its input untouched', () => {
    const input = { a: `call ${NUMBER}`, nested: { list: [CODE, 'code 1234'] }, n: 5 };
    const before = JSON.stringify(input);
    const out = redactLogObject(input);
    expect(JSON.stringify(input)).toBe(before);
    expect(out).toEqual({
      a: `call ${NUMBER_MASK}`,
      nested: { list: [CODE_MASK, `code ${CODE_MASK}`] },
      n: 5,
    });
  });

  test('works on bare strings and arrays', () => {
    expect(redactLogObject(`to ${NUMBER}`)).toBe(`to ${NUMBER_MASK}`);
    expect(redactLogObject([NUMBER, 1])).toEqual([NUMBER_MASK, 1]);
  });
});
