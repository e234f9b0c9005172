import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import {
  deleteCountryRule,
  deletePrice,
  findSpendCap,
  listCountryRules,
  listPrices,
  putCountryRule,
  putPrice,
  putSpendCap,
} from '../../db/policy';
import { usageOf } from '../../db/charges';
import {
  billingMonth,
  fromMicros,
  toMicros,
  type CountryAction,
  type CountryRule,
  type OverLimit,
} from '../../domain/policy';
import { principalOf } from '../plugins/auth';
import { HttpProblem } from '../plugins/problem';

const problem = { $ref: 'Problem#' } as const;
const auth = { 401: problem, 403: problem } as const;
const manage = { roles: ['admin', 'operator'] } as const;
const tags = ['sending policy'];

const ruleSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['country', 'action', 'overLimit'],
  properties: {
    country: { type: 'string' },
    action: { type: 'string', enum: ['allow', 'block', 'monitor'] },
    otpPerWindow: { type: 'integer', nullable: true },
    overLimit: { type: 'string', enum: ['refuse', 'hold'] },
  },
} as const;
const ruleJson = (r: CountryRule) => ({ ...r, otpPerWindow: r.otpPerWindow ?? null });

const countryParams = {
  type: 'object',
  additionalProperties: false,
  required: ['country'],
  properties: {
    country: { type: 'string', pattern: '^[A-Z]{2}$', description: 'ISO 3166 alpha-2' },
  },
} as const;

const priceParams = {
  type: 'object',
  additionalProperties: false,
  required: ['carrier', 'country'],
  properties: {
    carrier: { type: 'string', pattern: '^[a-z0-9-]{1,32}$' },
    country: { type: 'string', pattern: '^([A-Z]{2}|\\*)$', description: "alpha-2, or '*'" },
  },
} as const;

/** Money in requests: at most a million, in the billing currency (six decimals are kept). */
const amount = { type: 'number', minimum: 0, maximum: 1000000 } as const;

/** `/v1/policy/countries`: the tenant's country rules (roles admin or operator). */
function countryRuleRoutes(app: FastifyInstance, db: Pool) {
  app.get(
    '/v1/policy/countries',
    {
      config: manage,
      schema: {
        tags,
        summary: "The tenant's country rules (unlisted countries are allowed)",
        response: { 200: { type: 'array', items: ruleSchema }, ...auth },
      },
    },
    async (req) => (await listCountryRules(db, principalOf(req).tenant)).map(ruleJson),
  );

  app.put<{
    Params: { country: string };
    Body: { action: CountryAction; otpPerWindow?: number; overLimit?: OverLimit };
  }>(
    '/v1/policy/countries/:country',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Set the rule for a destination country',
        description:
          '`block`: sends are refused (422 country-blocked). `monitor`: sent, and counted as monitored in usage. `otpPerWindow`: at most this many OTPs per velocity window (OTP_VELOCITY_WINDOW_SECONDS, default 60) to the country; above it `overLimit` `refuse` answers 429 velocity-limit-reached, `hold` accepts and holds the message (status `held`) until a window with room.',
        params: countryParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['action'],
          properties: {
            action: { type: 'string', enum: ['allow', 'block', 'monitor'] },
            otpPerWindow: { type: 'integer', minimum: 1, maximum: 1000000 },
            overLimit: { type: 'string', enum: ['refuse', 'hold'] },
          },
        },
        response: { 200: ruleSchema, 400: problem, ...auth },
      },
    },
    async (req) => {
      const rule = await putCountryRule(db, principalOf(req).tenant, {
        country: req.params.country,
        action: req.body.action,
        otpPerWindow: req.body.otpPerWindow,
        overLimit: req.body.overLimit ?? 'refuse',
      });
      return ruleJson(rule);
    },
  );

  app.delete<{ Params: { country: string } }>(
    '/v1/policy/countries/:country',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Remove the rule for a country (it is then allowed)',
        params: countryParams,
        response: { 204: { type: 'null' }, 400: problem, ...auth, 404: problem },
      },
    },
    async (req, reply) => {
      if (!(await deleteCountryRule(db, principalOf(req).tenant, req.params.country)))
        throw new HttpProblem(404, 'Not found', 'no rule for this country');
      return reply.status(204).send();
    },
  );
}

const capSchema = {
  type: 'object',
  required: ['monthlyCap'],
  properties: { monthlyCap: { type: 'number', nullable: true } },
} as const;

/** `/v1/policy/spend-cap`: the tenant's monthly spend cap (roles admin or operator). */
function spendCapRoutes(app: FastifyInstance, db: Pool) {
  app.get(
    '/v1/policy/spend-cap',
    {
      config: manage,
      schema: {
        tags,
        summary: "The tenant's monthly spend cap (null: none)",
        response: { 200: capSchema, ...auth },
      },
    },
    async (req) => {
      const cap = await findSpendCap(db, principalOf(req).tenant);
      return { monthlyCap: cap === undefined ? null : fromMicros(cap) };
    },
  );

  app.put<{ Body: { monthlyCap: number | null } }>(
    '/v1/policy/spend-cap',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Set or remove (null) the monthly spend cap',
        description:
          'A send that would take the UTC month’s spend above the cap is refused (422 spend-cap-reached).',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['monthlyCap'],
          properties: { monthlyCap: { ...amount, nullable: true } },
        },
        response: { 200: capSchema, 400: problem, ...auth },
      },
    },
    async (req) => {
      const cap = req.body.monthlyCap;
      await putSpendCap(db, principalOf(req).tenant, cap === null ? null : toMicros(cap));
      return { monthlyCap: cap };
    },
  );
}

const priceSchema = {
  type: 'object',
  required: ['carrier', 'country', 'perSegment', 'scope'],
  properties: {
    carrier: { type: 'string' },
    country: { type: 'string' },
    perSegment: { type: 'number' },
    scope: { type: 'string', enum: ['platform', 'tenant'] },
  },
} as const;

/** `/v1/prices`: the price table; setting or removing the tenant's own prices is for operators only. */
function priceRoutes(app: FastifyInstance, db: Pool) {
  app.get(
    '/v1/prices',
    {
      config: { roles: ['sender', 'admin', 'operator'] },
      schema: {
        tags,
        summary: 'The price table that applies to the tenant',
        description:
          "Price per segment by carrier and country ('*' = any other country); the tenant's own rows override the platform's. A message costs segments × the price of its primary route.",
        response: { 200: { type: 'array', items: priceSchema }, ...auth },
      },
    },
    async (req) => {
      const tenant = principalOf(req).tenant;
      return (await listPrices(db, tenant)).map((r) => ({
        carrier: r.carrier,
        country: r.country,
        perSegment: fromMicros(r.perSegment),
        scope: r.tenant === tenant ? 'tenant' : 'platform',
      }));
    },
  );

  app.put<{ Params: { carrier: string; country: string }; Body: { perSegment: number } }>(
    '/v1/prices/:carrier/:country',
    {
      config: { roles: ['operator'] },
      schema: {
        tags,
        summary: "Set the tenant's price per segment for a carrier and country",
        params: priceParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['perSegment'],
          properties: { perSegment: amount },
        },
        response: { 200: priceSchema, 400: problem, ...auth },
      },
    },
    async (req) => {
      const { carrier, country } = req.params;
      const perSegment = toMicros(req.body.perSegment);
      await putPrice(db, { tenant: principalOf(req).tenant, carrier, country, perSegment });
      return { carrier, country, perSegment: fromMicros(perSegment), scope: 'tenant' };
    },
  );

  app.delete<{ Params: { carrier: string; country: string } }>(
    '/v1/prices/:carrier/:country',
    {
      config: { roles: ['operator'] },
      schema: {
        tags,
        summary: "Remove the tenant's own price (the platform's applies again)",
        params: priceParams,
        response: { 204: { type: 'null' }, 400: problem, ...auth, 404: problem },
      },
    },
    async (req, reply) => {
      const { carrier, country } = req.params;
      if (!(await deletePrice(db, principalOf(req).tenant, carrier, country)))
        throw new HttpProblem(404, 'Not found', 'no such price');
      return reply.status(204).send();
    },
  );
}

/** `GET /v1/usage`: the tenant's spend in a UTC month. */
function usageRoutes(app: FastifyInstance, db: Pool) {
  app.get<{ Querystring: { month?: string } }>(
    '/v1/usage',
    {
      config: { roles: ['sender', 'admin', 'operator'] },
      schema: {
        tags,
        summary: "The tenant's spend in a UTC month (default: this one)",
        description:
          'Spend is the sum of the prices of messages accepted in the month that were not released (a message is released, and not billed, when it never reaches a carrier).',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { month: { type: 'string', pattern: '^[0-9]{4}-(0[1-9]|1[0-2])$' } },
        },
        response: {
          200: {
            type: 'object',
            required: ['month', 'spent', 'monthlyCap', 'messages', 'byCountry'],
            properties: {
              month: { type: 'string' },
              spent: { type: 'number' },
              monthlyCap: { type: 'number', nullable: true },
              remaining: { type: 'number', nullable: true },
              messages: { type: 'integer', description: 'Billed (not released) messages' },
              released: { type: 'integer', description: 'Messages never handed to a carrier' },
              byCountry: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    country: { type: 'string' },
                    messages: { type: 'integer' },
                    segments: { type: 'integer' },
                    spent: { type: 'number' },
                    unpriced: { type: 'integer' },
                    monitored: { type: 'integer' },
                  },
                },
              },
            },
          },
          400: problem,
          ...auth,
        },
      },
    },
    async (req) => {
      const tenant = principalOf(req).tenant;
      const month = req.query.month ? `${req.query.month}-01` : billingMonth(Date.now());
      const [usage, cap] = await Promise.all([
        usageOf(db, tenant, month),
        findSpendCap(db, tenant),
      ]);
      return {
        month: month.slice(0, 7),
        spent: fromMicros(usage.spent),
        monthlyCap: cap === undefined ? null : fromMicros(cap),
        remaining: cap === undefined ? null : fromMicros(Math.max(0, cap - usage.spent)),
        messages: usage.byCountry.reduce((n, c) => n + c.messages, 0),
        released: usage.released,
        byCountry: usage.byCountry.map(({ spend, ...c }) => ({ ...c, spent: fromMicros(spend) })),
      };
    },
  );
}

/**
 * Policy administration, per tenant: country rules (allow / block / monitor, OTP velocity),
 * the monthly spend cap, the tenant's prices, and `GET /v1/usage`. Rules and the cap: roles admin or
 * operator. Prices: operator only (platform staff; a tenant admin must not price its own traffic).
 */
export async function policyRoutes(app: FastifyInstance, { db }: { db: Pool }) {
  countryRuleRoutes(app, db);
  spendCapRoutes(app, db);
  priceRoutes(app, db);
  usageRoutes(app, db);
}
