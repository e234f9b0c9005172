import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { ulid } from 'ulid';
import {
  addNumbers,
  createPool,
  findPool,
  getPoolDetail,
  listNumbers,
  listPools,
  PoolNameTakenError,
  quarantineNumber,
  releaseNumber,
  removeNumber,
  type PoolNumberRecord,
  type PoolPurpose,
  type PoolRecord,
  type PoolStrategy,
} from '../../db/pools';
import { principalOf } from '../plugins/auth';
import { HttpProblem } from '../plugins/problem';

export interface PoolRouteDeps {
  db: Pool;
}

interface CreatePoolBody {
  name: string;
  country?: string;
  purpose: PoolPurpose;
  strategy: PoolStrategy;
  campaign?: string;
  expiresAt?: string;
}

interface AddNumbersBody {
  numbers: { number: string; ratePerSecond?: number }[];
}

/** E.164 number or alphanumeric sender id: our sender numbers, not personal data. */
const SENDER_PATTERN = '^(\\+[1-9][0-9]{6,14}|[A-Za-z0-9 ]{1,11})$';

const problem = { $ref: 'Problem#' } as const;
const auth = { 401: problem, 403: problem } as const;
const config = { roles: ['admin'] } as const;
const tags = ['pools'];

const poolProperties = {
  id: { type: 'string' },
  name: { type: 'string' },
  country: { type: 'string', nullable: true },
  purpose: { type: 'string', enum: ['otp', 'transactional', 'marketing'] },
  strategy: { type: 'string', enum: ['lru', 'sticky'] },
  campaign: { type: 'string', nullable: true },
  expiresAt: { type: 'string', format: 'date-time', nullable: true },
  createdAt: { type: 'string', format: 'date-time' },
} as const;
const poolRequired = Object.keys(poolProperties);

const poolSchema = {
  type: 'object',
  additionalProperties: false,
  required: poolRequired,
  properties: poolProperties,
} as const;

const numberSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['number', 'status', 'ratePerSecond'],
  properties: {
    number: { type: 'string' },
    status: { type: 'string', enum: ['active', 'quarantined'] },
    ratePerSecond: { type: 'number' },
    nextAvailableAt: {
      type: 'string',
      format: 'date-time',
      nullable: true,
      description: 'The next free send slot; null if never used',
    },
    lastUsedAt: { type: 'string', format: 'date-time', nullable: true },
    quarantinedAt: { type: 'string', format: 'date-time', nullable: true },
    quarantineReason: { type: 'string', nullable: true },
  },
} as const;

const poolSummarySchema = {
  type: 'object',
  additionalProperties: false,
  required: [...poolRequired, 'activeNumbers', 'quarantinedNumbers'],
  properties: {
    ...poolProperties,
    activeNumbers: { type: 'integer' },
    quarantinedNumbers: { type: 'integer' },
  },
} as const;

const poolDetailSchema = {
  type: 'object',
  additionalProperties: false,
  required: [...poolRequired, 'numbers'],
  properties: { ...poolProperties, numbers: { type: 'array', items: numberSchema } },
} as const;

/**
 * Every pool id the API can return: the API's own (`pool_<ulid>`) and those written by the dev seed,
 * the benchmark and operators (`pool_demo_otp`, `pool_<tenant>_otp`). A narrower pattern made such
 * pools listable but impossible to release numbers from.
 */
export const POOL_ID_PATTERN = '^pool_[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$';

const poolIdParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'string', pattern: POOL_ID_PATTERN } },
} as const;

const numberParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'number'],
  properties: { ...poolIdParams.properties, number: { type: 'string', pattern: SENDER_PATTERN } },
} as const;

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const poolJson = (p: PoolRecord) => ({
  ...p,
  expiresAt: iso(p.expiresAt),
  createdAt: p.createdAt.toISOString(),
});
const numberJson = ({ id: _id, ...n }: PoolNumberRecord) => ({
  ...n,
  nextAvailableAt: iso(n.nextAvailableAt),
  lastUsedAt: iso(n.lastUsedAt),
  quarantinedAt: iso(n.quarantinedAt),
});

const noPool = () => new HttpProblem(404, 'Not found', 'no such pool');
const noNumber = () => new HttpProblem(404, 'Not found', 'no such number in this pool');

/** The caller's pool, or 404. */
async function ownPool(db: Pool, tenant: string, id: string): Promise<PoolRecord> {
  const pool = await findPool(db, tenant, id);
  if (!pool) throw noPool();
  return pool;
}

/** `/v1/pools` and `/v1/pools/:id`: create a pool, list them, read one with its numbers. */
function poolCollectionRoutes(app: FastifyInstance, db: Pool) {
  app.post<{ Body: CreatePoolBody }>(
    '/v1/pools',
    {
      config,
      schema: {
        tags,
        summary: 'Create a pool',
        description:
          'A pool without `country` is a fallback for any destination. A pool with `campaign` serves only messages of that campaign, and is preferred for them. An expired pool is no longer used.',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'purpose', 'strategy'],
          properties: {
            name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$' },
            country: { type: 'string', pattern: '^[A-Z]{2}$', description: 'ISO 3166 alpha-2' },
            purpose: { type: 'string', enum: ['otp', 'transactional', 'marketing'] },
            strategy: { type: 'string', enum: ['lru', 'sticky'] },
            campaign: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' },
            expiresAt: { type: 'string', format: 'date-time' },
          },
        },
        response: { 201: poolSchema, 400: problem, ...auth, 409: problem },
      },
    },
    async (req, reply) => {
      const { tenant } = principalOf(req);
      const { expiresAt, ...rest } = req.body;
      const expires = expiresAt === undefined ? undefined : new Date(expiresAt);
      if (expires && expires.getTime() <= Date.now()) {
        throw new HttpProblem(400, 'Invalid request', '`expiresAt` must be in the future', [
          'expiresAt',
        ]);
      }
      try {
        const pool = await createPool(db, tenant, `pool_${ulid()}`, {
          ...rest,
          expiresAt: expires,
        });
        return reply.status(201).send(poolJson(pool));
      } catch (err) {
        if (err instanceof PoolNameTakenError) {
          throw new HttpProblem(409, 'Conflict', 'a pool with this name already exists', ['name']);
        }
        throw err;
      }
    },
  );

  app.get(
    '/v1/pools',
    {
      config,
      schema: {
        tags,
        summary: 'List pools, with their count of active and quarantined numbers',
        response: { 200: { type: 'array', items: poolSummarySchema }, ...auth },
      },
    },
    async (req) => (await listPools(db, principalOf(req).tenant)).map(poolJson),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/pools/:id',
    {
      config,
      schema: {
        tags,
        summary: 'A pool and its numbers',
        params: poolIdParams,
        response: { 200: poolDetailSchema, 400: problem, ...auth, 404: problem },
      },
    },
    async (req) => {
      const pool = await getPoolDetail(db, principalOf(req).tenant, req.params.id);
      if (!pool) throw noPool();
      return { ...poolJson(pool), numbers: pool.numbers.map(numberJson) };
    },
  );
}

/** `/v1/pools/:id/numbers…`: add and remove numbers, quarantine and release them. */
function poolNumberRoutes(app: FastifyInstance, db: Pool) {
  app.post<{ Params: { id: string }; Body: AddNumbersBody }>(
    '/v1/pools/:id/numbers',
    {
      config,
      schema: {
        tags,
        summary: 'Add numbers to a pool',
        description:
          'Numbers already in the pool are left as they are. `ratePerSecond` (default 1) caps how many messages a number sends per second.',
        params: poolIdParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['numbers'],
          properties: {
            numbers: {
              type: 'array',
              minItems: 1,
              maxItems: 1000,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['number'],
                properties: {
                  number: { type: 'string', pattern: SENDER_PATTERN },
                  ratePerSecond: { type: 'number', exclusiveMinimum: 0, maximum: 10000 },
                },
              },
            },
          },
        },
        response: {
          201: {
            type: 'object',
            additionalProperties: false,
            required: ['added', 'numbers'],
            properties: {
              added: { type: 'integer', description: 'How many were new to the pool' },
              numbers: { type: 'array', items: numberSchema },
            },
          },
          400: problem,
          ...auth,
          404: problem,
        },
      },
    },
    async (req, reply) => {
      const pool = await ownPool(db, principalOf(req).tenant, req.params.id);
      const added = await addNumbers(db, pool.id, req.body.numbers);
      const numbers = await listNumbers(db, pool.id);
      return reply.status(201).send({ added, numbers: numbers.map(numberJson) });
    },
  );

  app.delete<{ Params: { id: string; number: string } }>(
    '/v1/pools/:id/numbers/:number',
    {
      config,
      schema: {
        tags,
        summary: 'Remove a number from a pool',
        params: numberParams,
        response: { 204: { type: 'null' }, 400: problem, ...auth, 404: problem },
      },
    },
    async (req, reply) => {
      const pool = await ownPool(db, principalOf(req).tenant, req.params.id);
      if (!(await removeNumber(db, pool.id, req.params.number))) throw noNumber();
      return reply.status(204).send();
    },
  );

  app.post<{ Params: { id: string; number: string }; Body: { reason: string } }>(
    '/v1/pools/:id/numbers/:number/quarantine',
    {
      config,
      schema: {
        tags,
        summary: 'Take a number out of rotation',
        description:
          'Pickers skip a quarantined number; sticky subscribers move to another number of the pool. The reason must not contain personal data.',
        params: numberParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['reason'],
          properties: { reason: { type: 'string', minLength: 1, maxLength: 200 } },
        },
        response: { 200: numberSchema, 400: problem, ...auth, 404: problem },
      },
    },
    async (req) => {
      const pool = await ownPool(db, principalOf(req).tenant, req.params.id);
      const n = await quarantineNumber(db, pool.id, req.params.number, req.body.reason);
      if (!n) throw noNumber();
      return numberJson(n);
    },
  );

  app.post<{ Params: { id: string; number: string } }>(
    '/v1/pools/:id/numbers/:number/release',
    {
      config,
      schema: {
        tags,
        summary: 'Put a quarantined number back into rotation',
        params: numberParams,
        response: { 200: numberSchema, 400: problem, ...auth, 404: problem },
      },
    },
    async (req) => {
      const pool = await ownPool(db, principalOf(req).tenant, req.params.id);
      const n = await releaseNumber(db, pool.id, req.params.number);
      if (!n) throw noNumber();
      return numberJson(n);
    },
  );
}

/**
 * Sender-number pools, for admins of a tenant: create and list pools, add and remove numbers,
 * quarantine and release them. Every route is scoped to the caller's tenant; another tenant's pool
 * is 404. Sender numbers are ours, not personal data, so they appear in answers.
 */
export async function poolRoutes(app: FastifyInstance, { db }: PoolRouteDeps) {
  poolCollectionRoutes(app, db);
  poolNumberRoutes(app, db);
}
