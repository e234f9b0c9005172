import type { FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { ulid } from 'ulid';
import { sealSubjectNumber, type SubscriberTokens } from '../../encryption/subscriber-token';
import type { VaultClient } from '../../clients/vault';
import type { Config } from '../../config/config';
import { appendAudit } from '../../db/audit';
import { findErasure, recordErasure } from '../../db/erasures';
import { withTransaction } from '../../db/transaction';
import {
  addOptOut,
  effectiveTenantPolicy,
  findOptOut,
  listOptOuts,
  removeOptOut,
  upsertTenantPolicy,
} from '../../db/privacy';
import { normalizeRecipient } from '../../domain/phone';
import { regionFor } from '../../domain/regions';
import { taskQueueFor, type Purpose } from '../../workflows/definitions';
import type { erasureWorkflow } from '../../workflows/erasure';
import { principalOf } from '../plugins/auth';
import { HttpProblem } from '../plugins/problem';

export interface PrivacyRouteDeps {
  config: Config;
  temporal: Client;
  db: Pool;
  vault: VaultClient;
  /** The subject's tokens at the caller's tenant. */
  tokens: SubscriberTokens;
}

const problem = { $ref: 'Problem#' } as const;
const errors = { 400: problem, 401: problem, 403: problem, 404: problem } as const;

const numberBody = {
  type: 'object',
  additionalProperties: false,
  required: ['number'],
  properties: {
    number: {
      type: 'string',
      minLength: 1,
      maxLength: 32,
      description: 'The subscriber in international format, e.g. +447400123456',
    },
  },
} as const;

const erasureSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    status: { type: 'string', enum: ['running', 'completed'] },
    messagesFound: { type: 'integer' },
    messagesPending: {
      type: 'integer',
      description:
        "The tenant's messages accepted before the erasure that it still waits for (not tokenized yet, so not known to be the subject's)",
    },
    messagesCancelled: { type: 'integer' },
    messagesPurged: { type: 'integer' },
    createdAt: { type: 'string' },
    completedAt: { type: 'string', nullable: true },
  },
} as const;

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

/** The E.164 form of a subscriber number from a request body, or a 400 naming `number`. */
function e164Of(raw: string): { e164: string; country: string } {
  const r = normalizeRecipient(raw);
  if (!r.ok)
    throw new HttpProblem(
      400,
      'Invalid number',
      '`number` is not a valid international mobile number (E.164, with +)',
      ['number'],
    );
  return { e164: r.e164, country: r.country };
}

/**
 * Data-subject rights and the tenant's privacy policy: erasure (role dpo), the opt-out list (sender
 * or admin), retention and opt-out policy (admin). Numbers are turned into the keyed subscriber
 * token at once (Vault HMAC) and never stored, logged or echoed.
 */
export async function privacyRoutes(
  app: FastifyInstance,
  { config, temporal, db, vault, tokens }: PrivacyRouteDeps,
) {
  const erasureView = (
    r: Record<string, unknown> & { created_at: Date; completed_at: Date | null },
  ) => ({
    id: r.id,
    status: r.status,
    messagesFound: r.messages_found,
    messagesPending: r.messages_pending,
    messagesCancelled: r.messages_cancelled,
    messagesPurged: r.messages_purged,
    createdAt: r.created_at.toISOString(),
    completedAt: r.completed_at?.toISOString() ?? null,
  });

  app.post<{ Body: { number: string } }>(
    '/v1/subjects/erasure',
    {
      config: { roles: ['dpo'] },
      schema: {
        tags: ['privacy'],
        summary: 'Erase a data subject: purge every message to the number now',
        description:
          "Purges the subject's messages at this tenant (ciphertexts, receipts, history, Temporal histories), cancelling those still in flight. The subject's opt-outs stay (keyed token, number sealed). Answers with an erasure id; progress at GET /v1/subjects/erasure/:id.",
        body: numberBody,
        response: { 202: erasureSchema, ...errors },
      },
    },
    async (req, reply) => {
      const { tenant, keyId } = principalOf(req);
      const { e164, country } = e164Of(req.body.number);
      // The subject's tokens stay with the erasure in PostgreSQL; the workflow input holds none.
      const subject = await tokens.of(tenant, e164);
      const erasureId = `era_${ulid()}`;
      const region = regionFor(country);
      // The tombstone keeps the number sealed under its region key (the API can seal, never open),
      // so a subscriber-token rotation re-derives it.
      const sealed = await sealSubjectNumber(vault, e164, region);
      // The erasure and its tombstone first, in one transaction: from the commit on, no message of
      // the subject accepted until now can be sent, whether or not the workflow below runs yet.
      const row = await withTransaction(db, async (tx) => {
        const recorded = await recordErasure(tx, {
          erasureId,
          tenant,
          requestedBy: keyId,
          subject,
          sealed,
        });
        await appendAudit(tx, {
          actor: keyId,
          tenant,
          action: 'erasure.requested',
          subject: erasureId,
          detail: { region },
        });
        return recorded;
      });
      await temporal.workflow.start<typeof erasureWorkflow>('erasureWorkflow', {
        workflowId: erasureId,
        taskQueue: taskQueueFor(region, config.temporal.taskQueuePrefix),
        args: [
          {
            erasureId,
            tenant,
            cancelWaitSeconds: config.retention.erasureCancelWaitSeconds,
            intakePollSeconds: config.retention.erasureIntakePollSeconds,
          },
        ],
      });
      return reply.status(202).send(erasureView(row));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/subjects/erasure/:id',
    {
      config: { roles: ['dpo'] },
      schema: {
        tags: ['privacy'],
        summary: 'Progress of an erasure',
        params: {
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'string', maxLength: 40 } },
        },
        response: { 200: erasureSchema, ...errors },
      },
    },
    async (req) => {
      const { tenant } = principalOf(req);
      const erasure = await findErasure(db, req.params.id, tenant);
      if (!erasure) throw new HttpProblem(404, 'Not found');
      return erasureView(erasure);
    },
  );

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
    async (req, reply) => {
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
    async (req) => {
      const { tenant } = principalOf(req);
      const items = await listOptOuts(db, tenant, {
        limit: req.query.limit ?? 100,
        before: req.query.before,
      });
      return { items: items.map((i) => ({ ...i, createdAt: i.createdAt.toISOString() })) };
    },
  );

  const removed = async (tenant: string, keyId: string, ok: boolean, by: string) => {
    if (!ok) throw new HttpProblem(404, 'Not found', 'no such opt-out');
    await appendAudit(db, {
      actor: keyId,
      tenant,
      action: 'optout.removed',
      subject: null,
      detail: { by },
    });
  };

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
    async (req, reply) => {
      const { tenant, keyId } = principalOf(req);
      await removed(tenant, keyId, await removeOptOut(db, tenant, { id: req.params.id }), 'id');
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
    async (req, reply) => {
      const { tenant, keyId } = principalOf(req);
      const subject = await tokens.of(tenant, e164Of(req.body.number).e164);
      await removed(tenant, keyId, await removeOptOut(db, tenant, { tokens: subject }), 'number');
      return reply.status(204).send();
    },
  );

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
    async (req) => effectiveTenantPolicy(db, principalOf(req).tenant, policyDefaults),
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
    async (req) => {
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
