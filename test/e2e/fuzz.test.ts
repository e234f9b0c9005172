import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { POOL_ID_PATTERN } from '../../api/routes/pools';
import { createCodecServer } from '../../codec-server/app';
import { createApiKey } from '../../db/api-keys';
import { startApi, type TestApi } from '../helpers/api';
import { silentLog, unique } from '../helpers/stack';

/**
 * Property-based fuzzing through the fully wired app (real Temporal, OpenBao and PostgreSQL, no
 * workers): well over 1,000 requests, each malformed by construction (one defect in an otherwise
 * valid request, or garbage), across every route family. Each must be answered, in time, with a
 * 4xx problem+json that does not echo the phone number it carried, and none may start a workflow
 * or store anything.
 */
const RUNS = 1200;
const PHONE = '+447400123456';
const VALID_SEND = { to: PHONE, body: 'Your code is 481516', purpose: 'otp' };
const POOL_PATTERN = new RegExp(POOL_ID_PATTERN);

interface Keys {
  sender: string;
  admin: string;
  operator: string;
}

/** A request and its family's label; `codecServer`: sent to the codec server, not the API. */
type Case = (keys: Keys) => InjectOptions & { label: string; codecServer?: boolean };

const bearer = (k: string) => ({ authorization: `Bearer ${k}` });
/** Strings with no digit at all: never a phone number, never a number pool id. */
const noDigits = fc.string({ unit: fc.constantFrom(...'abcxyzABCXYZ !?#*-_./é中'), maxLength: 40 });
/** A JSON value of another type than string. */
const notAString = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
);
const unknownField = fc
  .string({ minLength: 1, maxLength: 20 })
  .filter(
    (k) =>
      ![
        'to',
        'body',
        'purpose',
        'campaign',
        'sender',
        'callbackUrl',
        'validitySeconds',
        '__proto__',
        'constructor',
      ].includes(k),
  );

/** POST /v1/messages with exactly one defect. */
const sendCases: fc.Arbitrary<Case> = fc.oneof(
  fc.constantFrom('to', 'body', 'purpose').map((field): Case => (k) => {
    const body: Record<string, unknown> = { ...VALID_SEND };
    delete body[field];
    return {
      label: `send without ${field}`,
      method: 'POST',
      url: '/v1/messages',
      headers: bearer(k.sender),
      payload: body,
    };
  }),
  fc.tuple(unknownField, fc.jsonValue()).map(([name, value]): Case => (k) => ({
    label: 'send with an unknown field',
    method: 'POST',
    url: '/v1/messages',
    headers: bearer(k.sender),
    payload: { ...VALID_SEND, [name]: value ?? 1 },
  })),
  fc
    .tuple(
      fc.constantFrom('to', 'body', 'purpose', 'campaign', 'sender', 'callbackUrl'),
      notAString,
    )
    .map(([field, value]): Case => (k) => ({
      label: `send with a non-string ${field}`,
      method: 'POST',
      url: '/v1/messages',
      headers: bearer(k.sender),
      payload: { ...VALID_SEND, [field]: value },
    })),
  noDigits.map((to): Case => (k) => ({
    label: 'send to a non-number',
    method: 'POST',
    url: '/v1/messages',
    headers: bearer(k.sender),
    payload: { ...VALID_SEND, to },
  })),
  fc
    .string({ maxLength: 20 })
    .filter((p) => !['otp', 'transactional', 'marketing'].includes(p))
    .map((purpose): Case => (k) => ({
      label: 'send with an unknown purpose',
      method: 'POST',
      url: '/v1/messages',
      headers: bearer(k.sender),
      payload: { ...VALID_SEND, purpose },
    })),
  fc
    .oneof(
      fc.integer({ max: 0 }),
      fc.integer({ min: 259_201 }),
      fc.double({ min: 1.5, max: 1000, noInteger: true }),
    )
    .map((validitySeconds): Case => (k) => ({
      label: 'send with a validity out of range',
      method: 'POST',
      url: '/v1/messages',
      headers: bearer(k.sender),
      payload: { ...VALID_SEND, validitySeconds },
    })),
  fc.integer({ min: 1531, max: 1600 }).map((n): Case => (k) => ({
    label: 'send a body of more than 10 segments',
    method: 'POST',
    url: '/v1/messages',
    headers: bearer(k.sender),
    payload: { ...VALID_SEND, body: 'a'.repeat(n) },
  })),
  fc.integer({ min: 0, max: JSON.stringify(VALID_SEND).length - 1 }).map((cut): Case => (k) => ({
    label: 'send truncated JSON',
    method: 'POST',
    url: '/v1/messages',
    headers: { ...bearer(k.sender), 'content-type': 'application/json' },
    payload: JSON.stringify(VALID_SEND).slice(0, cut),
  })),
  fc
    .constantFrom(
      'text/plain',
      'application/xml',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
    )
    .map((type): Case => (k) => ({
      label: `send as ${type}`,
      method: 'POST',
      url: '/v1/messages',
      headers: { ...bearer(k.sender), 'content-type': type },
      payload: JSON.stringify(VALID_SEND),
    })),
  fc
    .oneof(
      fc
        .string({ unit: fc.constantFrom(...'ab-_ '), minLength: 1, maxLength: 10 })
        .map((s) => `${s} x`),
      fc.constant('k'.repeat(256)),
    )
    .map((key): Case => (k) => ({
      label: 'send with a malformed Idempotency-Key',
      method: 'POST',
      url: '/v1/messages',
      headers: { ...bearer(k.sender), 'idempotency-key': key },
      payload: VALID_SEND,
    })),
  fc
    .oneof(fc.constant(''), fc.string({ unit: fc.constantFrom(...'abcXYZ012_-'), maxLength: 60 }))
    .map((token): Case => () => ({
      label: 'send with a key that is none',
      method: 'POST',
      url: '/v1/messages',
      headers: { authorization: `Bearer sk_${token}` },
      payload: VALID_SEND,
    })),
  fc
    .tuple(fc.stringMatching(/^[a-z]{1,8}$/), fc.string({ maxLength: 10 }))
    .map(([name, value]): Case => (k) => ({
      label: 'send with a query parameter',
      method: 'POST',
      url: `/v1/messages?${name}=${encodeURIComponent(value)}`,
      headers: bearer(k.sender),
      payload: VALID_SEND,
    })),
  fc.integer({ min: 64 * 1024, max: 80 * 1024 }).map((n): Case => (k) => ({
    label: 'send over the size limit',
    method: 'POST',
    url: '/v1/messages',
    headers: bearer(k.sender),
    payload: { ...VALID_SEND, body: 'x'.repeat(n) },
  })),
);

/** Reads and cancels of ids that are not messages, and the admin pool routes with one defect each. */
const idCases: fc.Arbitrary<Case> = fc.oneof(
  fc.string({ minLength: 1, maxLength: 60 }).map((id): Case => (k) => ({
    label: 'read a message by a garbage id',
    method: 'GET',
    url: `/v1/messages/${encodeURIComponent(id)}`,
    headers: bearer(k.sender),
  })),
  fc.string({ minLength: 1, maxLength: 60 }).map((id): Case => (k) => ({
    label: 'cancel a message by a garbage id',
    method: 'POST',
    url: `/v1/messages/${encodeURIComponent(id)}/cancel`,
    headers: bearer(k.sender),
  })),
  fc
    .string({ minLength: 1, maxLength: 40 })
    .filter((id) => !POOL_PATTERN.test(id))
    .map((id): Case => (k) => ({
      label: 'read a pool by a malformed id',
      method: 'GET',
      url: `/v1/pools/${encodeURIComponent(id)}`,
      headers: bearer(k.admin),
    })),
  fc
    .oneof(
      fc.record({ purpose: fc.constant('otp'), strategy: fc.constant('lru') }),
      fc.record({
        name: fc.constant('x'),
        purpose: fc
          .string({ maxLength: 5 })
          .filter((p) => !['otp', 'transactional', 'marketing'].includes(p)),
        strategy: fc.constant('lru'),
      }),
      fc.record({
        name: fc.constant('x'),
        purpose: fc.constant('otp'),
        strategy: fc.constant('lru'),
        country: noDigits.filter((c) => !/^[A-Z]{2}$/.test(c)),
      }),
      fc.record({
        name: noDigits.map((n) => `#${n}`),
        purpose: fc.constant('otp'),
        strategy: fc.constant('lru'),
      }),
      fc.tuple(unknownField, fc.jsonValue()).map(([name, value]) => ({
        name: 'x',
        purpose: 'otp',
        strategy: 'lru',
        [`x-${name}`]: value ?? 0,
      })),
    )
    .map((payload): Case => (k) => ({
      label: 'create a malformed pool',
      method: 'POST',
      url: '/v1/pools',
      headers: bearer(k.admin),
      payload,
    })),
  fc
    .oneof(
      fc.constant({ numbers: [] }),
      noDigits.map((n) => ({ numbers: [{ number: `${n}#!` }] })),
      fc
        .double({ max: 0 })
        .map((rate) => ({ numbers: [{ number: '+447000000001', ratePerSecond: rate }] })),
    )
    .map((payload): Case => (k) => ({
      label: 'add malformed numbers to a pool that is not there',
      method: 'POST',
      url: `/v1/pools/pool_${'0'.repeat(26)}/numbers`,
      headers: bearer(k.admin),
      payload,
    })),
  fc
    .oneof(fc.constant(''), fc.constant('r'.repeat(201)), notAString)
    .map((reason): Case => (k) => ({
      label: 'quarantine with a malformed reason',
      method: 'POST',
      url: `/v1/pools/pool_${'0'.repeat(26)}/numbers/${encodeURIComponent('+447000000001')}/quarantine`,
      headers: bearer(k.admin),
      payload: { reason },
    })),
);

/** The codec server, signed webhooks, wrong methods and unknown paths. */
const edgeCases: fc.Arbitrary<Case> = fc.oneof(
  fc
    .oneof(
      fc.constant({}),
      fc.record({ payloads: notAString.filter((v) => !(Array.isArray(v) && v.length === 0)) }),
      fc.constant({ payloads: [{ data: 'AAAA', extra: 1 }] }),
      fc
        .array(fc.base64String({ minLength: 4, maxLength: 40 }), { minLength: 1, maxLength: 3 })
        .map((ds) => ({
          payloads: ds.map((data) => ({
            metadata: { encoding: Buffer.from('binary/encrypted').toString('base64') },
            data,
          })),
        })),
    )
    .map((payload): Case => (k) => ({
      label: 'decode malformed payloads',
      codecServer: true,
      method: 'POST',
      url: '/codec/decode',
      headers: bearer(k.operator),
      payload,
    })),
  fc
    .tuple(
      fc.constantFrom('http-a', 'nope', 'smsc-a'),
      fc.string({ maxLength: 80 }),
      fc.option(fc.string({ maxLength: 80 })),
    )
    .map(([carrier, body, sig]): Case => () => ({
      label: 'deliver an unsigned or badly signed receipt',
      method: 'POST',
      url: `/v1/carriers/${carrier}/receipts`,
      headers: {
        'content-type': 'application/json',
        'x-timestamp': String(Math.floor(Date.now() / 1000)),
        ...(sig === null
          ? {}
          : {
              'x-signature': `v1=${Buffer.from(sig).toString('hex').slice(0, 64).padEnd(64, '0')}`,
            }),
      },
      payload: body,
    })),
  fc
    .tuple(
      fc.constantFrom('PUT', 'PATCH', 'DELETE'),
      fc.constantFrom('/v1/messages', '/v1/pools', '/healthz', '/codec/decode'),
    )
    .map(([method, url]): Case => (k) => ({
      label: `${method} where it is not answered`,
      method: method as InjectOptions['method'],
      url,
      headers: bearer(k.admin),
      payload: VALID_SEND,
    })),
  fc.string({ minLength: 1, maxLength: 40 }).map((path): Case => (k) => ({
    label: 'an unknown path',
    method: 'GET',
    url: `/v1/x/${encodeURIComponent(path)}/${encodeURIComponent(PHONE)}`,
    headers: bearer(k.admin),
  })),
);

describe('fuzz: malformed requests across the routes', () => {
  let api: TestApi;
  let codec: Awaited<ReturnType<typeof createCodecServer>>;
  let keys: Keys;
  let tenant: string;

  beforeAll(async () => {
    // Rate limits are tested on their own (security.test.ts, api-edge.test.ts); here they would hide the other paths.
    api = await startApi({ API_RATE_LIMIT_MAX: '1000000', AUTH_FAILURE_LIMIT: '1000000' });
    codec = await createCodecServer(api.config, silentLog);
    tenant = unique('fuzz').toLowerCase();
    keys = {
      sender: (await createApiKey(api.db, tenant, ['sender'])).secret,
      admin: (await createApiKey(api.db, tenant, ['admin'])).secret,
      operator: (await createApiKey(api.db, tenant, ['operator'])).secret,
    };
  });
  afterAll(async () => {
    await codec?.close();
    await api?.close();
  });

  test(
    `${RUNS} malformed requests: each a prompt 4xx problem+json; nothing started or stored`,
    async () => {
      const seen = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(fc.oneof(sendCases, idCases, edgeCases), async (make) => {
          const { label, codecServer, ...options } = make(keys);
          seen.set(label, (seen.get(label) ?? 0) + 1);
          let timer: NodeJS.Timeout | undefined;
          const res = await Promise.race([
            (codecServer ? codec.app : api.app).inject(options),
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer in 30 s: ${label}`)), 30_000);
            }),
          ]).finally(() => clearTimeout(timer));
          const where = `${label} ${JSON.stringify(options.payload ?? null).slice(0, 120)} → ${res.statusCode}`;
          expect(where).toMatch(/→ 4\d\d$/);
          expect([where, String(res.headers['content-type'])]).toEqual([
            where,
            expect.stringContaining('application/problem+json'),
          ]);
          expect(res.body).not.toContain('7400123456');
          expect(res.body).not.toContain('481516');
        }),
        { numRuns: RUNS },
      );
      // Every family was exercised.
      expect(seen.size).toBeGreaterThanOrEqual(20);
      // No garbage accepted: no workflow started (nor waiting to start), nothing stored for the tenant.
      await api.app.startRelay.drain();
      expect(api.started).toEqual([]);
      const { rows } = await api.db.query<{ n: string }>(
        `select (select count(*) from messages where tenant = $1)
            + (select count(*) from number_pools where tenant = $1)
            + (select count(*) from tenant_send_usage where tenant = $1) as n`,
        [tenant],
      );
      expect(Number(rows[0]!.n)).toBe(0);
    },
    20 * 60_000,
  );
});
