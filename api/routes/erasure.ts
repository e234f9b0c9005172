import type { FastifyInstance } from 'fastify';
import { ulid } from 'ulid';
import { sealSubjectNumber } from '../../encryption/subscriber-token';
import { appendAudit } from '../../db/audit';
import { findErasure, recordErasure } from '../../db/erasures';
import { withTransaction } from '../../db/transaction';
import { regionFor } from '../../domain/regions';
import { taskQueueFor } from '../../domain/regions';
import type { erasureWorkflow } from '../../workflows/erasure';
import { principalOf } from '../plugins/auth';
import { HttpProblem } from '../plugins/problem';
import type { PrivacyRouteDeps } from './privacy';
import { e164Of, numberBody, subjectErrors as errors } from './subject-number';

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

/**
 * Erasure of a data subject (role dpo): `POST /v1/subjects/erasure` records the erasure and its
 * tombstone, then starts its workflow; `GET /v1/subjects/erasure/:id` shows its progress.
 */
export async function erasureRoutes(
  app: FastifyInstance,
  { config, regions, db, vault, tokens }: PrivacyRouteDeps,
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
    async function startErasure(req, reply) {
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
      await regions.forRegion(region).workflow.start<typeof erasureWorkflow>('erasureWorkflow', {
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
    async function readErasure(req) {
      const { tenant } = principalOf(req);
      const erasure = await findErasure(db, req.params.id, tenant);
      if (!erasure) throw new HttpProblem(404, 'Not found');
      return erasureView(erasure);
    },
  );
}
