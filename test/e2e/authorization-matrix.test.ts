import type { FastifyInstance, InjectOptions } from 'fastify';
import { createCodecServer } from '../../codec-server/app';
import { ulid } from 'ulid';
import type { Role } from '../../db/api-keys';
import { createApiKey } from '../../db/api-keys';
import { startApi, type TestApi } from '../helpers/api';
import { silentLog, unique } from '../helpers/stack';

/**
 * The authorization matrix: every route of the API and of the codec server × every role × a key of the resource's own
 * tenant and a key of another tenant, plus no key at all. The routes are enumerated at run time
 * (authPlugin's onRoute record), and a route without a row here FAILS the test: whoever adds a
 * route adds its row, with the status each caller must get.
 *
 * Each cell is `[own tenant, other tenant]`. "Own" callers hold a key of tenant A, which owns the
 * fixtures (a pool with numbers, a message, review tasks, an erasure request, opt-outs); "other"
 * callers hold a key of tenant B and ask for tenant A's real objects by id (or number), so every
 * "other" 404 is a refusal of something that exists: were a tenant check lost, that cell would get
 * what the owner gets (or a 403 where a lease is missing) and fail. A route that names no resource
 * (create, list) acts in the caller's own tenant, so both columns agree there. HEAD routes answer as their GET and need no row of their
 * own, unless there is no GET with the same path.
 */
type Cell = readonly [own: number, other: number];
type Expectation = {
  anonymous: number;
  sender: Cell;
  reviewer: Cell;
  operator: Cell;
  dpo: Cell;
  admin: Cell;
};

const ROLE_ORDER = ['sender', 'reviewer', 'operator', 'dpo', 'admin'] as const satisfies Role[];
const all = (s: number): Cell => [s, s];
/** The same status for everyone, key or not (public routes). */
const open = (s: number): Expectation => ({
  anonymous: s,
  sender: all(s),
  reviewer: all(s),
  operator: all(s),
  dpo: all(s),
  admin: all(s),
});
/** Only `role` gets in (with `own`/`other` statuses); other roles 403, no key 401. */
const only = (role: Role, cell: Cell): Expectation => ({
  anonymous: 401,
  sender: all(403),
  reviewer: all(403),
  operator: all(403),
  dpo: all(403),
  admin: all(403),
  [role]: cell,
});

interface Fixtures {
  poolId: string;
  messageId: string;
  /** A number of tenant A's pool that stays in it. */
  number: string;
  /** Adds a number to tenant A's pool, for a request that removes it. */
  freshNumber(): Promise<string>;
  /** Tenant A's review task whose lease tenant A's reviewer holds (it stays so). */
  leasedTaskId: string;
  /** A new open review task of tenant A, free, or leased by tenant A's reviewer. */
  freshTask(leased: boolean): Promise<string>;
  /** Tenant A's erasure request. */
  erasureId: string;
  /** A new opt-out of tenant A (through the API): its id and the subscriber's number. */
  freshOptOut(): Promise<{ id: string; number: string }>;
}

interface Row {
  expect: Expectation;
  /** The request for a caller with this key (`apiKey` undefined: no key). */
  request(f: Fixtures, apiKey: string | undefined): Promise<InjectOptions> | InjectOptions;
}

const auth = (apiKey: string | undefined) =>
  apiKey ? { authorization: `Bearer ${apiKey}` } : ({} as Record<string, string>);
const get = (url: string) => (_f: Fixtures, k: string | undefined) => ({
  method: 'GET' as const,
  url,
  headers: auth(k),
});
const post =
  (url: (f: Fixtures) => string, payload?: (f: Fixtures) => unknown) =>
  (f: Fixtures, k: string | undefined): InjectOptions => ({
    method: 'POST',
    url: url(f),
    headers: auth(k),
    ...(payload ? { payload: payload(f) as object } : {}),
  });

/** Any of `roles` gets in (with `own`/`other` statuses); other roles 403, no key 401. */
const some = (roles: readonly Role[], cell: Cell): Expectation =>
  Object.assign(
    only(roles[0]!, cell),
    ...roles.slice(1).map((r) => ({ [r]: cell })),
  ) as Expectation;
const send =
  (method: 'PUT' | 'DELETE', url: string, payload?: unknown) =>
  (_f: Fixtures, k: string | undefined): InjectOptions => ({
    method,
    url,
    headers: auth(k),
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
/** A number nobody else uses, so each caller's request acts on its own subscriber. */
let subscribers = Math.floor(Math.random() * 9e5);
const freshSubscriber = () => `+447400${String(++subscribers).padStart(6, '0')}`;

const MATRIX: Record<string, Row> = {
  // --- public: health, docs, signed webhooks ---
  'GET /healthz': { expect: open(200), request: get('/healthz') },
  'GET /readyz': { expect: open(200), request: get('/readyz') },
  'GET /docs': { expect: open(200), request: get('/docs') },
  'HEAD /docs/': {
    expect: open(200),
    request: (_f, k) => ({ method: 'HEAD', url: '/docs/', headers: auth(k) }),
  },
  'GET /docs/json': { expect: open(200), request: get('/docs/json') },
  'GET /openapi.json': { expect: open(200), request: get('/openapi.json') },
  'GET /docs/yaml': { expect: open(200), request: get('/docs/yaml') },
  'GET /docs/static/index.html': { expect: open(302), request: get('/docs/static/index.html') },
  'GET /docs/static/swagger-initializer.js': {
    expect: open(200),
    request: get('/docs/static/swagger-initializer.js'),
  },
  'GET /docs/static/*': { expect: open(200), request: get('/docs/static/swagger-ui.css') },
  // No signature, whoever calls: carriers authenticate by signing, not with API keys.
  'POST /v1/carriers/:name/receipts': {
    expect: open(401),
    request: post(
      () => '/v1/carriers/http-a/receipts',
      () => ({ id: 'x', status: 'delivered' }),
    ),
  },

  // The reviewer page and its assets hold no data; the sign-in takes a reviewer key in its body.
  'GET /review': { expect: open(200), request: get('/review') },
  'GET /review/app.js': { expect: open(200), request: get('/review/app.js') },
  'GET /review/app.css': { expect: open(200), request: get('/review/app.css') },
  'POST /review/login': {
    expect: { ...only('reviewer', all(200)), anonymous: 401 },
    request: post(
      () => '/review/login',
      () => undefined,
    ),
  },
  'POST /review/logout': { expect: open(204), request: post(() => '/review/logout') },

  // --- sender: messages of the caller's tenant ---
  'POST /v1/messages': {
    expect: only('sender', [202, 202]),
    request: post(
      () => '/v1/messages',
      () => ({ to: '+447400123456', body: 'Matrix test', purpose: 'transactional' }),
    ),
  },
  'GET /v1/messages/:id': {
    expect: only('sender', [200, 404]),
    request: (f, k) => get(`/v1/messages/${f.messageId}`)(f, k),
  },
  // The fixture message's workflow is closed: its own tenant learns that (409), others nothing (404).
  'POST /v1/messages/:id/cancel': {
    expect: only('sender', [409, 404]),
    request: post((f) => `/v1/messages/${f.messageId}/cancel`),
  },

  // --- admin: the caller's tenant's callback signing secret (rotation acts in the caller's tenant) ---
  'POST /v1/callback-secrets': {
    expect: only('admin', [201, 201]),
    request: post(
      () => '/v1/callback-secrets',
      () => ({}),
    ),
  },

  // --- admin: sender-number pools of the caller's tenant ---
  'POST /v1/pools': {
    expect: only('admin', [201, 201]),
    request: post(
      () => '/v1/pools',
      () => ({ name: unique('m'), purpose: 'otp', strategy: 'lru' }),
    ),
  },
  'GET /v1/pools': { expect: only('admin', [200, 200]), request: get('/v1/pools') },
  'GET /v1/pools/:id': {
    expect: only('admin', [200, 404]),
    request: (f, k) => get(`/v1/pools/${f.poolId}`)(f, k),
  },
  'POST /v1/pools/:id/numbers': {
    expect: only('admin', [201, 404]),
    request: post(
      (f) => `/v1/pools/${f.poolId}/numbers`,
      () => ({ numbers: [{ number: `+4475${String(Date.now()).slice(-8)}` }] }),
    ),
  },
  'DELETE /v1/pools/:id/numbers/:number': {
    expect: only('admin', [204, 404]),
    request: async (f, k) => ({
      method: 'DELETE',
      url: `/v1/pools/${f.poolId}/numbers/${encodeURIComponent(await f.freshNumber())}`,
      headers: auth(k),
    }),
  },
  'POST /v1/pools/:id/numbers/:number/quarantine': {
    expect: only('admin', [200, 404]),
    request: post(
      (f) => `/v1/pools/${f.poolId}/numbers/${encodeURIComponent(f.number)}/quarantine`,
      () => ({ reason: 'matrix test' }),
    ),
  },
  'POST /v1/pools/:id/numbers/:number/release': {
    expect: only('admin', [200, 404]),
    request: post((f) => `/v1/pools/${f.poolId}/numbers/${encodeURIComponent(f.number)}/release`),
  },

  // --- reviewer: the caller's tenant's review queue; a task is readable only under its lease ---
  'GET /review/tasks': { expect: only('reviewer', all(200)), request: get('/review/tasks') },
  // A free task of tenant A, named: its reviewer claims it, another tenant's finds nothing.
  'POST /review/tasks/claim': {
    expect: only('reviewer', [200, 404]),
    request: async (f, k) => ({
      method: 'POST',
      url: '/review/tasks/claim',
      headers: auth(k),
      payload: { taskId: await f.freshTask(false) },
    }),
  },
  // Tenant A's reviewer holds the lease: the content for them, nothing (not even "no lease") for others.
  'GET /review/tasks/:id': {
    expect: only('reviewer', [200, 404]),
    request: (f, k) => get(`/review/tasks/${f.leasedTaskId}`)(f, k),
  },
  'POST /review/tasks/:id/complete': {
    expect: only('reviewer', [200, 404]),
    request: async (f, k) => ({
      method: 'POST',
      url: `/review/tasks/${await f.freshTask(true)}/complete`,
      headers: auth(k),
      payload: { verdict: 'approve', reasonCode: 'ok' },
    }),
  },
  'POST /review/tasks/:id/release': {
    expect: only('reviewer', [204, 404]),
    request: async (f, k) => ({
      method: 'POST',
      url: `/review/tasks/${await f.freshTask(true)}/release`,
      headers: auth(k),
    }),
  },

  // --- admin or operator: the caller's tenant's review and sending policies ---
  'GET /v1/review-policies': {
    expect: some(['admin', 'operator'], all(200)),
    request: get('/v1/review-policies'),
  },
  'PUT /v1/review-policies': {
    expect: some(['admin', 'operator'], all(200)),
    request: send('PUT', '/v1/review-policies', {
      campaign: 'matrix',
      mode: 'post_delivery',
      sampleRate: 0,
    }),
  },
  // Callers run in role order: the operator's delete removes what the PUT row made; the admin's finds nothing.
  'DELETE /v1/review-policies': {
    expect: { ...some(['admin', 'operator'], all(204)), admin: all(404) },
    request: send('DELETE', '/v1/review-policies?campaign=matrix'),
  },
  'GET /v1/policy/countries': {
    expect: some(['admin', 'operator'], all(200)),
    request: get('/v1/policy/countries'),
  },
  'PUT /v1/policy/countries/:country': {
    expect: some(['admin', 'operator'], all(200)),
    request: send('PUT', '/v1/policy/countries/FR', { action: 'allow' }),
  },
  'DELETE /v1/policy/countries/:country': {
    expect: { ...some(['admin', 'operator'], all(204)), admin: all(404) },
    request: send('DELETE', '/v1/policy/countries/FR'),
  },
  'GET /v1/policy/spend-cap': {
    expect: some(['admin', 'operator'], all(200)),
    request: get('/v1/policy/spend-cap'),
  },
  'PUT /v1/policy/spend-cap': {
    expect: some(['admin', 'operator'], all(200)),
    request: send('PUT', '/v1/policy/spend-cap', { monthlyCap: null }),
  },
  'GET /v1/prices': {
    expect: some(['sender', 'admin', 'operator'], all(200)),
    request: get('/v1/prices'),
  },
  'GET /v1/usage': {
    expect: some(['sender', 'admin', 'operator'], all(200)),
    request: get('/v1/usage'),
  },
  // Prices are the platform's: only operators set them.
  'PUT /v1/prices/:carrier/:country': {
    expect: only('operator', all(200)),
    request: send('PUT', '/v1/prices/matrix-carrier/FR', { perSegment: 0.01 }),
  },
  'DELETE /v1/prices/:carrier/:country': {
    expect: only('operator', all(204)),
    request: send('DELETE', '/v1/prices/matrix-carrier/FR'),
  },

  // --- dpo: erasure of a subject at the caller's tenant ---
  'POST /v1/subjects/erasure': {
    expect: only('dpo', all(202)),
    request: post(
      () => '/v1/subjects/erasure',
      () => ({ number: freshSubscriber() }),
    ),
  },
  'GET /v1/subjects/erasure/:id': {
    expect: only('dpo', [200, 404]),
    request: (f, k) => get(`/v1/subjects/erasure/${f.erasureId}`)(f, k),
  },

  // --- sender or admin: the caller's tenant's opt-outs; admin: its privacy policy ---
  'POST /v1/opt-outs': {
    expect: some(['sender', 'admin'], all(201)),
    request: post(
      () => '/v1/opt-outs',
      () => ({ number: freshSubscriber() }),
    ),
  },
  'GET /v1/opt-outs': { expect: some(['sender', 'admin'], all(200)), request: get('/v1/opt-outs') },
  // A fresh opt-out of tenant A for each caller: its owner removes it, another tenant cannot.
  'DELETE /v1/opt-outs/:id': {
    expect: some(['sender', 'admin'], [204, 404]),
    request: async (f, k) => ({
      method: 'DELETE',
      url: `/v1/opt-outs/${(await f.freshOptOut()).id}`,
      headers: auth(k),
    }),
  },
  'POST /v1/opt-outs/remove': {
    expect: some(['sender', 'admin'], [204, 404]),
    request: async (f, k) => ({
      method: 'POST',
      url: '/v1/opt-outs/remove',
      headers: auth(k),
      payload: { number: (await f.freshOptOut()).number },
    }),
  },
  'GET /v1/privacy-policy': { expect: only('admin', all(200)), request: get('/v1/privacy-policy') },
  'PUT /v1/privacy-policy': {
    expect: only('admin', all(200)),
    request: send('PUT', '/v1/privacy-policy', {}),
  },
};

/** The codec server's routes (a process of its own, codec-server/app.ts), in the same form. */
const CODEC_MATRIX: Record<string, Row> = {
  'GET /healthz': { expect: open(200), request: get('/healthz') },
  'OPTIONS /codec/*': {
    expect: open(204),
    request: (_f, k) => ({ method: 'OPTIONS', url: '/codec/decode', headers: auth(k) }),
  },
  'GET /codec/login': { expect: open(200), request: get('/codec/login') },
  // The sign-in takes the key in its body: only an operator's opens a session.
  'POST /codec/login': {
    expect: { ...only('operator', all(200)), anonymous: 401 },
    request: post(
      () => '/codec/login',
      () => undefined,
    ),
  },
  'POST /codec/logout': { expect: open(204), request: post(() => '/codec/logout') },

  // --- operator: the codec server (Temporal UI); payloads of every tenant, redacted ---
  'POST /codec/decode': {
    expect: only('operator', all(200)),
    request: post(
      () => '/codec/decode',
      () => ({ payloads: [] }),
    ),
  },
  'POST /codec/encode': {
    expect: only('operator', all(200)),
    request: post(
      () => '/codec/encode',
      () => ({ payloads: [] }),
    ),
  },
};

describe('authorization matrix: every route × every role × own and other tenant', () => {
  let api: TestApi;
  let codec: Awaited<ReturnType<typeof createCodecServer>>;
  let fixtures: Fixtures;
  const keys: Record<'own' | 'other', Record<Role, string>> = { own: {}, other: {} } as never;
  const keyIds: Record<'own' | 'other', Record<Role, string>> = { own: {}, other: {} } as never;

  beforeAll(async () => {
    api = await startApi();
    codec = await createCodecServer(api.config, silentLog);
    const tenantA = unique('mx-a').toLowerCase();
    const tenantB = unique('mx-b').toLowerCase();
    for (const role of ROLE_ORDER) {
      for (const [side, tenant] of [
        ['own', tenantA],
        ['other', tenantB],
      ] as const) {
        const key = await createApiKey(api.db, tenant, [role]);
        keys[side][role] = key.secret;
        keyIds[side][role] = key.id;
      }
    }
    const poolId = `pool_${ulid()}`;
    await api.db.query(
      `insert into number_pools (id, tenant, name, purpose, strategy) values ($1, $2, 'matrix', 'otp', 'lru')`,
      [poolId, tenantA],
    );
    const number = '+447000000777';
    await api.db.query(`insert into pool_numbers (pool_id, number) values ($1, $2)`, [
      poolId,
      number,
    ]);
    // Tenant A's message: accepted through the API, its workflow then closed, its row recorded.
    const accepted = await api.app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: auth(keys.own.sender),
      payload: { to: '+447400123456', body: 'Matrix fixture', purpose: 'transactional' },
    });
    expect(accepted.statusCode).toBe(202);
    const messageId = accepted.json<{ id: string }>().id;
    await api.app.startRelay.drain();
    await api.temporal.workflow.getHandle(messageId).terminate('matrix fixture');
    // The accept wrote its row (status accepted); the closed workflow leaves it cancelled.
    await api.db.query(`update messages set status = 'cancelled' where id = $1 and tenant = $2`, [
      messageId,
      tenantA,
    ]);
    // Tenant A's review tasks, as the review activity opens them for a message of the tenant (the
    // task and its redacted content).
    const freshTask = async (leased: boolean) => {
      const id = `rev_${ulid()}`;
      const reviewed = `msg_${ulid()}`;
      await api.db.query(
        `insert into messages (id, tenant, purpose, region, encoding, segments, status)
         values ($1, $2, 'transactional', 'global', 'GSM7', 1, 'in_review')`,
        [reviewed, tenantA],
      );
      await api.db.query(
        `with t as (insert into review_tasks (id, message_id, tenant, mode, due_at, lease_holder, lease_expires_at)
                    values ($1, $2, $3, 'pre_send', now() + interval '1 hour', $4,
                            case when $4::text is null then null else now() + interval '1 hour' end)
                    returning id)
         insert into review_task_content (task_id, pseudonym, country, body_masked, encoding, segments)
         select id, 'subscriber-matrix', 'GB', 'Your code is ••••', 'GSM7', 1 from t`,
        [id, reviewed, tenantA, leased ? keyIds.own.reviewer : null],
      );
      return id;
    };
    const leasedTaskId = await freshTask(true);
    // Tenant A's erasure request, made by its DPO.
    const erasure = await api.app.inject({
      method: 'POST',
      url: '/v1/subjects/erasure',
      headers: auth(keys.own.dpo),
      payload: { number: freshSubscriber() },
    });
    expect(erasure.statusCode).toBe(202);
    const erasureId = erasure.json<{ id: string }>().id;
    const freshOptOut = async () => {
      const number = freshSubscriber();
      const res = await api.app.inject({
        method: 'POST',
        url: '/v1/opt-outs',
        headers: auth(keys.own.admin),
        payload: { number },
      });
      expect(res.statusCode).toBe(201);
      return { id: res.json<{ id: string }>().id, number };
    };
    let n = 0;
    fixtures = {
      leasedTaskId,
      freshTask,
      erasureId,
      freshOptOut,
      poolId,
      messageId,
      number,
      async freshNumber() {
        const fresh = `+44700001${String(++n).padStart(4, '0')}`;
        await api.db.query(`insert into pool_numbers (pool_id, number) values ($1, $2)`, [
          poolId,
          fresh,
        ]);
        return fresh;
      },
    };
  });
  afterAll(async () => {
    await codec?.close();
    await api?.close();
  });

  /** Each app with its table: the API, and the codec server (a process of its own). */
  const apps = (): [string, FastifyInstance, Record<string, Row>][] => [
    ['api', api.app, MATRIX],
    ['codec server', codec.app, CODEC_MATRIX],
  ];

  test('every route of each app has a row, and every row names a route of its app', () => {
    for (const [name, app, matrix] of apps()) {
      const routes = new Set(app.declaredRoutes.map((r) => `${r.method} ${r.url}`));
      const needRow = [...routes].filter(
        (r) => !(r.startsWith('HEAD ') && routes.has(r.replace(/^HEAD /, 'GET '))),
      );
      expect([name, needRow.filter((r) => !(r in matrix))]).toEqual([name, []]);
      expect([name, Object.keys(matrix).filter((r) => !routes.has(r))]).toEqual([name, []]);
    }
    // The API serves nothing of the codec server's.
    expect(Object.keys(CODEC_MATRIX).filter((r) => r.includes('/codec') && r in MATRIX)).toEqual(
      [],
    );
  });

  test('every route declares roles or is public, and the table agrees with the declaration', () => {
    for (const [, app, matrix] of apps())
      for (const r of app.declaredRoutes) {
        const row = matrix[`${r.method} ${r.url}`] ?? matrix[`GET ${r.url}`];
        if (!row) continue; // reported by the test above
        // A route with roles refuses a caller without a key.
        if (!r.public)
          expect([r.method, r.url, row.expect.anonymous]).toEqual([r.method, r.url, 401]);
      }
  });

  test('each caller gets the status in the table', async () => {
    const mismatches: string[] = [];
    for (const [, app, matrix] of apps())
      for (const [route, row] of Object.entries(matrix)) {
        const check = async (who: string, apiKey: string | undefined, expected: number) => {
          let options = await row.request(fixtures, apiKey);
          // The sign-ins carry the caller's key in their body, not in a header.
          if (route === 'POST /codec/login' || route === 'POST /review/login')
            options = { ...options, headers: {}, payload: { apiKey: apiKey ?? 'sk_not-a-key' } };
          const res = await app.inject(options);
          if (res.statusCode !== expected)
            mismatches.push(`${route} as ${who}: expected ${expected}, got ${res.statusCode}`);
          if (
            res.statusCode >= 400 &&
            !String(res.headers['content-type']).includes('problem+json')
          )
            mismatches.push(`${route} as ${who}: ${res.statusCode} is not problem+json`);
        };
        await check('anonymous', undefined, row.expect.anonymous);
        for (const role of ROLE_ORDER) {
          await check(`${role} of the own tenant`, keys.own[role], row.expect[role][0]);
          await check(`${role} of another tenant`, keys.other[role], row.expect[role][1]);
        }
      }
    expect(mismatches).toEqual([]);
  });
});
