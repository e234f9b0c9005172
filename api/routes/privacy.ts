import type { FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import type { RegionalClients } from '../../clients/temporal';
import type { Pool } from 'pg';
import { sealSubjectNumber, type SubscriberTokens } from '../../encryption/subscriber-token';
import type { VaultClient } from '../../clients/vault';
import type { Config } from '../../config/config';
import { appendAudit } from '../../db/audit';
import {
  addOptOut,
  effectiveTenantPolicy,
  findOptOut,
  listOptOuts,
  removeOptOut,
  upsertTenantPolicy,
} from '../../db/privacy';
import { regionFor } from '../../domain/regions';
import type { Purpose } from '../../domain/purposes';
import { principalOf } from '../plugins/auth';
import { HttpProblem } from '../plugins/problem';
import { erasureRoutes } from './erasure';
import { e164Of, numberBody, subjectErrors as errors } from './subject-number';

export interface PrivacyRouteDeps {
  config: Config;
  temporal: Client;
  /** The clients of each region: the erasure workflow starts under its region's codec key. */
  regions: RegionalClients;
  db: Pool;
  vault: VaultClient;
  /** The subject's tokens at the caller's tenant. */
  tokens: SubscriberTokens;
}

const optOutSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    source: { type: 'string', enum: ['api', 'mo'] },
    createdAt: { type: 'string' },
  },
} as const;

const retentionProperties = {
  otp: { type: 'integer', minimum: 1, nullable: true },
  transactional: { type: 'integer', minimum: 1, nullable: true },
  marketing: { type: 'integer', minimum: 1, nullable: true },
} as const;

const policySchema = {
  type: 'object',
  properties: {
    retentionSeconds: {
      type: 'object',
      properties: {
        otp: { type: 'integer' },
        transactional: { type: 'integer' },
        marketing: { type: 'integer' },
      },
    },
    otpExemptFromOptOut: { type: 'boolean' },
  },
} as const;

/** After an opt-out removal: 404 if there was none, else the audit row (`optout.removed`, by id or number). */
async function removed(db: Pool, tenant: string, keyId: string, ok: boolean, by: string) {
  if (!ok) throw new HttpProblem(404, 'Not found', 'no such opt-out');
  await appendAudit(db, {
    actor: keyId,
    tenant,
    action: 'optout.removed',
    subject: null,
    detail: { by },
  });
}

/** The opt-out list (sender or admin): add, list, remove by id or by number. */
async function optOutRoutes(app: FastifyInstance, { db, vault, tokens }: PrivacyRouteDeps) {
  app.post<{ Body: { number: string } }>(
    '/v1/opt-outs',
    {
      config: { roles: ['sender', 'admin'] },
      schema: {
        tags: ['privacy'],
        summary: "Add a subscriber to the tenant's suppression list",
        description:
          'Idempotent: 201 when added, 200 when the subscriber was already there. Stored as the tenant keyed token, with the number sealed under its region key (for token rotation).',
        body: numberBody,
        response: { 200: optOutSchema, 201: optOutSchema, ...errors },
      },
    },
    async function addOptOutRoute(req, reply) {
      const { tenant, keyId } = principalOf(req);
      const { e164, country } = e164Of(req.body.number);
      const { id, created } = await addOptOut(
        db,
        tenant,
        await tokens.of(tenant, e164),
        'api',
        await sealSubjectNumber(vault, e164, regionFor(country)),
      );
      if (created)
        await appendAudit(db, {
          actor: keyId,
          tenant,
          action: 'optout.added',
          subject: `optout_${id}`,
          detail: { source: 'api' },
        });
      const added = await findOptOut(db, id);
      return reply.status(created ? 201 : 200).send({
        id,
        source: added!.source,
        createdAt: added!.createdAt.toISOString(),
      });
    },
  );

  app.get<{ Querystring: { limit?: number; before?: string } }>(
    '/v1/opt-outs',
    {
      config: { roles: ['sender', 'admin'] },
      schema: {
        tags: ['privacy'],
        summary: "The tenant's opt-outs, newest first (ids only: numbers are never shown)",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
            before: { type: 'string', pattern: '^[0-9]{1,18}$' },
          },
        },
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: optOutSchema } } },
          ...errors,
        },
      },
    },
    async function listOptOutsRoute(req) {
      const { tenant } = principalOf(req);
      const items = await listOptOuts(db, tenant, {
        limit: req.query.limit ?? 100,
        before: req.query.before,
      });
      return { items: items.map((i) => ({ ...i, createdAt: i.createdAt.toISOString() })) };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/opt-outs/:id',
    {
      config: { roles: ['sender', 'admin'] },
      schema: {
        tags: ['privacy'],
        summary: 'Remove an opt-out by its id',
        params: {
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'string', pattern: '^[0-9]{1,18}$' } },
        },
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async function removeOptOutById(req, reply) {
      const { tenant, keyId } = principalOf(req);
      await removed(db, tenant, keyId, await removeOptOut(db, tenant, { id: req.params.id }), 'id');
      return reply.status(204).send();
    },
  );

  app.post<{ Body: { number: string } }>(
    '/v1/opt-outs/remove',
    {
      config: { roles: ['sender', 'admin'] },
      schema: {
        tags: ['privacy'],
        summary: 'Remove the opt-out of a subscriber number',
        body: numberBody,
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async function removeOptOutByNumber(req, reply) {
      const { tenant, keyId } = principalOf(req);
      const subject = await tokens.of(tenant, e164Of(req.body.number).e164);
      await removed(
        db,
        tenant,
        keyId,
        await removeOptOut(db, tenant, { tokens: subject }),
        'number',
      );
      return reply.status(204).send();
    },
  );
}

/** The tenant's retention and opt-out policy (admin). */
async function privacyPolicyRoutes(app: FastifyInstance, { config, db }: PrivacyRouteDeps) {
  const policyDefaults = {
    retention: config.retention.defaults,
    otpExempt: config.optOut.otpExempt,
  };

  app.get(
    '/v1/privacy-policy',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['privacy'],
        summary: "The tenant's effective retention and opt-out policy",
        response: { 200: policySchema, ...errors },
      },
    },
    async function readPrivacyPolicy(req) {
      return effectiveTenantPolicy(db, principalOf(req).tenant, policyDefaults);
    },
  );

  app.put<{
    Body: {
      retentionSeconds?: Partial<Record<Purpose, number | null>>;
      otpExemptFromOptOut?: boolean | null;
    };
  }>(
    '/v1/privacy-policy',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['privacy'],
        summary:
          'Override the retention per purpose and the opt-out policy (null: back to the default)',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            retentionSeconds: {
              type: 'object',
              additionalProperties: false,
              properties: retentionProperties,
            },
            otpExemptFromOptOut: { type: 'boolean', nullable: true },
          },
        },
        response: { 200: policySchema, ...errors },
      },
    },
    async function setPrivacyPolicy(req) {
      const { tenant, keyId } = principalOf(req);
      await upsertTenantPolicy(db, tenant, {
        retentionSeconds: req.body.retentionSeconds ?? {},
        otpExemptFromOptOut: req.body.otpExemptFromOptOut,
      });
      await appendAudit(db, {
        actor: keyId,
        tenant,
        action: 'privacy_policy.changed',
        subject: null,
        detail: req.body,
      });
      return effectiveTenantPolicy(db, tenant, policyDefaults);
    },
  );
}

/**
 * Data-subject rights and the tenant's privacy policy: erasure (role dpo, api/routes/erasure.ts),
 * the opt-out list (sender or admin), retention and opt-out policy (admin). Numbers are turned into
 * the keyed subscriber token at once (Vault HMAC) and never stored, logged or echoed.
 */
export async function privacyRoutes(app: FastifyInstance, deps: PrivacyRouteDeps) {
  await erasureRoutes(app, deps);
  await optOutRoutes(app, deps);
  await privacyPolicyRoutes(app, deps);
}
