import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../../config/config';
import { appendAudit } from '../../db/audit';
import {
  claimTask,
  completeTask,
  deleteReviewPolicy,
  listOpenTasks,
  listReviewPolicies,
  putReviewPolicy,
  readTask,
  releaseTask,
  type TaskAccess,
} from '../../db/review';
import {
  maskNote,
  MAX_NOTE_LENGTH,
  REASON_CODES,
  VERDICTS,
  type ReasonCode,
  type ReviewMode,
  type Verdict,
} from '../../domain/review';
import { reviewDecisionSignal } from '../../workflows/review-signal';
import { principalOf } from '../plugins/auth';
import { HttpProblem } from '../plugins/problem';
import { REVIEW_SESSION, reviewPageRoutes } from './review-page';

export interface ReviewRouteDeps {
  config: Config;
  db: Pool;
  temporal: Client;
  log: Logger;
}

const problem = { $ref: 'Problem#' } as const;
const reviewer = { roles: ['reviewer'] as const, cookieAuth: REVIEW_SESSION.cookie };
const taskParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^rev_[0-9A-Z]{26}$' } },
} as const;

const taskContentSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'mode', 'leaseExpiresAt', 'dueAt', 'pseudonym', 'country', 'body'],
  properties: {
    id: { type: 'string' },
    mode: { type: 'string', enum: ['pre_send', 'post_delivery'] },
    leaseExpiresAt: { type: 'string', format: 'date-time' },
    dueAt: { type: 'string', format: 'date-time' },
    pseudonym: {
      type: 'string',
      description: 'Names the subscriber within this task only; unrelated across tasks',
    },
    country: { type: 'string' },
    carrier: {
      type: 'string',
      nullable: true,
      description: 'Pre-send: the first eligible carrier',
    },
    senderId: { type: 'string', nullable: true },
    senderSignature: { type: 'string', nullable: true },
    body: {
      type: 'string',
      description:
        'The message body as a reviewer may see it: codes, phone numbers and e-mail addresses masked',
    },
    encoding: { type: 'string' },
    segments: { type: 'integer' },
    deliveryOutcome: { type: 'string', nullable: true },
  },
} as const;

const policyProperties = {
  campaign: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' },
  sampleRate: { type: 'number', minimum: 0, maximum: 1 },
  firstNNewSignature: { type: 'integer', minimum: 0, maximum: 1_000_000 },
  firstNNewTemplate: { type: 'integer', minimum: 0, maximum: 1_000_000 },
  flagPhrases: {
    type: 'array',
    maxItems: 100,
    items: { type: 'string', minLength: 1, maxLength: 100 },
  },
  mode: { type: 'string', enum: ['pre_send', 'post_delivery'] },
  slaSeconds: { type: 'integer', minimum: 1, maximum: 7 * 86_400 },
  defaultDecision: { type: 'string', enum: VERDICTS },
} as const;
const policySchema = {
  type: 'object',
  properties: {
    tenant: { type: 'string' },
    ...policyProperties,
    updatedBy: { type: 'string' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
} as const;

interface PolicyBody {
  campaign?: string;
  sampleRate?: number;
  firstNNewSignature?: number;
  firstNNewTemplate?: number;
  flagPhrases?: string[];
  mode: ReviewMode;
  slaSeconds?: number;
  defaultDecision?: Verdict;
}

interface CompleteBody {
  verdict: Verdict;
  reasonCode: ReasonCode;
  note?: string;
}

/** The answer for a reviewer who may not (or no longer) see a task's content. */
function refuse(access: TaskAccess['kind']): never {
  if (access === 'missing') throw new HttpProblem(404, 'Not found');
  if (access === 'closed')
    throw new HttpProblem(410, 'Review task closed', 'the task was completed; its content is gone');
  throw new HttpProblem(
    403,
    'No lease',
    'claim the task first: its content is readable only while you hold its lease',
  );
}

/**
 * Human review: the reviewer page (`GET /review`), its sign-in (an API key with the reviewer role
 * exchanged for an HttpOnly session cookie), the reviewer API under `/review/tasks` (list, claim
 * with a lease, read while the lease is held, complete, release; every read audited), and review
 * policies for admins and operators (`/v1/review-policies`).
 */
export async function reviewRoutes(app: FastifyInstance, deps: ReviewRouteDeps): Promise<void> {
  const { db, temporal, config, log } = deps;
  const selfOrigin = (req: FastifyRequest) => `${req.protocol}://${req.headers.host ?? ''}`;

  // A request from another site never acts with the reviewer's cookie (SameSite=Strict already keeps
  // it from being sent; this refuses even what a lax browser might send).
  app.addHook('onRequest', async (req) => {
    const origin = req.headers.origin;
    if (
      req.method !== 'GET' &&
      req.url.startsWith('/review') &&
      origin &&
      origin !== selfOrigin(req)
    )
      throw new HttpProblem(403, 'Forbidden', 'this origin may not call the reviewer API');
  });

  await reviewPageRoutes(app, db);

  const audit = (req: FastifyRequest, action: string, subject: string | null, detail = {}) => {
    const p = principalOf(req);
    return appendAudit(db, {
      actor: `reviewer:${p.keyId}`,
      tenant: p.tenant,
      action,
      subject,
      detail,
    });
  };

  app.get(
    '/review/tasks',
    {
      config: reviewer,
      schema: {
        tags: ['review'],
        summary: "The open tasks of the reviewer's queue (their tenant's), without content",
        description:
          'Oldest first, at most 50: pseudonym, country, purpose, age and SLA left of each; the body only comes with a claim. Audited (`review.list`).',
        response: {
          200: {
            type: 'object',
            required: ['tasks'],
            properties: {
              tasks: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['id', 'mode', 'createdAt', 'dueAt', 'ageSeconds', 'slaSecondsLeft'],
                  properties: {
                    id: { type: 'string' },
                    mode: { type: 'string', enum: ['pre_send', 'post_delivery'] },
                    pseudonym: {
                      type: 'string',
                      nullable: true,
                      description: "This task's pseudonym of the subscriber (never a number)",
                    },
                    country: { type: 'string', nullable: true, description: 'ISO 3166 alpha-2' },
                    purpose: { type: 'string', nullable: true },
                    createdAt: { type: 'string', format: 'date-time' },
                    dueAt: { type: 'string', format: 'date-time', description: 'SLA end' },
                    ageSeconds: { type: 'integer' },
                    slaSecondsLeft: { type: 'integer', description: '0 once the SLA has run out' },
                    leased: { type: 'boolean' },
                  },
                },
              },
            },
          },
          401: problem,
          403: problem,
        },
      },
    },
    async (req, reply) => {
      const tasks = await listOpenTasks(db, principalOf(req).tenant);
      await audit(req, 'review.list', null, { tasks: tasks.length });
      return reply.header('cache-control', 'no-store').send({ tasks });
    },
  );

  app.post<{ Body: { taskId?: string } }>(
    '/review/tasks/claim',
    {
      config: reviewer,
      schema: {
        tags: ['review'],
        summary: `Claims a task (the given one, else the oldest free one) with a lease of REVIEW_LEASE_SECONDS (default ${600} s)`,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { taskId: taskParams.properties.id },
        },
        response: {
          200: {
            type: 'object',
            required: ['taskId', 'leaseExpiresAt'],
            properties: {
              taskId: { type: 'string' },
              leaseExpiresAt: { type: 'string', format: 'date-time' },
            },
          },
          400: problem,
          401: problem,
          403: problem,
          404: problem,
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const lease = await claimTask(db, {
        tenant: p.tenant,
        reviewer: p.keyId,
        leaseSeconds: config.review.leaseSeconds,
        taskId: req.body?.taskId,
      });
      if (!lease)
        throw new HttpProblem(
          404,
          'Nothing to claim',
          req.body?.taskId ? 'that task is not free to claim' : 'no free task in your queue',
        );
      await audit(req, 'review.claim', lease.taskId, { leaseSeconds: config.review.leaseSeconds });
      return lease;
    },
  );

  app.get<{ Params: { id: string } }>(
    '/review/tasks/:id',
    {
      config: reviewer,
      schema: {
        tags: ['review'],
        summary: 'A task you hold the lease of: pseudonymized and redacted content',
        params: taskParams,
        response: {
          200: taskContentSchema,
          400: problem,
          401: problem,
          403: problem,
          404: problem,
          410: problem,
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const access = await readTask(db, {
        tenant: p.tenant,
        reviewer: p.keyId,
        taskId: req.params.id,
      });
      await audit(
        req,
        access.kind === 'leased' ? 'review.read' : 'review.read_denied',
        req.params.id,
        {
          access: access.kind,
        },
      );
      if (access.kind !== 'leased') refuse(access.kind);
      return reply.header('cache-control', 'no-store').send(access.content);
    },
  );

  app.post<{ Params: { id: string }; Body: CompleteBody }>(
    '/review/tasks/:id/complete',
    {
      config: reviewer,
      schema: {
        tags: ['review'],
        summary:
          'Approves or rejects a task you hold; the decision reaches the message as the reviewDecision signal',
        params: taskParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['verdict', 'reasonCode'],
          properties: {
            verdict: { type: 'string', enum: VERDICTS },
            reasonCode: { type: 'string', enum: REASON_CODES },
            note: { type: 'string', maxLength: MAX_NOTE_LENGTH },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { taskId: { type: 'string' }, verdict: { type: 'string' } },
          },
          400: problem,
          401: problem,
          403: problem,
          404: problem,
          410: problem,
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const { verdict, reasonCode } = req.body;
      if (verdict === 'reject' && reasonCode === 'ok')
        throw new HttpProblem(400, 'Invalid request', 'a rejection needs a reason other than ok', [
          'reasonCode',
        ]);
      const note = maskNote(req.body.note);
      const done = await completeTask(db, {
        tenant: p.tenant,
        reviewer: p.keyId,
        taskId: req.params.id,
        verdict,
        reasonCode,
        noteMasked: note,
      });
      if (!done.ok) refuse(done.access);
      await audit(req, 'review.complete', req.params.id, { verdict, reasonCode });
      try {
        await temporal.workflow
          .getHandle(done.messageId)
          .signal(reviewDecisionSignal, { taskId: req.params.id, verdict, reasonCode, note });
      } catch (err) {
        // The decision is committed: the workflow reads it from the database when its SLA timer fires.
        log.warn(
          { taskId: req.params.id, error: (err as Error).name },
          'review decision recorded but not signalled',
        );
      }
      return { taskId: req.params.id, verdict };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/review/tasks/:id/release',
    {
      config: reviewer,
      schema: {
        tags: ['review'],
        summary: 'Gives a task you hold back to the queue',
        params: taskParams,
        response: {
          204: { type: 'null' },
          400: problem,
          401: problem,
          403: problem,
          404: problem,
          410: problem,
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const args = { tenant: p.tenant, reviewer: p.keyId, taskId: req.params.id };
      if (!(await releaseTask(db, args))) refuse((await readTask(db, args)).kind);
      await audit(req, 'review.release', req.params.id);
      return reply.code(204).send();
    },
  );

  const policyRoute = { roles: ['admin', 'operator'] as const };

  app.get(
    '/v1/review-policies',
    {
      config: policyRoute,
      schema: {
        tags: ['review'],
        summary: "The tenant's review policies (default and per campaign)",
        response: {
          200: {
            type: 'object',
            properties: { policies: { type: 'array', items: policySchema } },
          },
          401: problem,
          403: problem,
        },
      },
    },
    async (req) => ({ policies: await listReviewPolicies(db, principalOf(req).tenant) }),
  );

  app.put<{ Body: PolicyBody }>(
    '/v1/review-policies',
    {
      config: policyRoute,
      schema: {
        tags: ['review'],
        summary:
          "Sets the tenant's review policy, or a campaign's with `campaign` (SLA and default decision default per mode)",
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['mode'],
          properties: policyProperties,
        },
        response: { 200: policySchema, 400: problem, 401: problem, 403: problem },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const b = req.body;
      const policy = await putReviewPolicy(db, {
        tenant: p.tenant,
        campaign: b.campaign,
        sampleRate: b.sampleRate ?? 0,
        firstNNewSignature: b.firstNNewSignature ?? 0,
        firstNNewTemplate: b.firstNNewTemplate ?? 0,
        flagPhrases: b.flagPhrases ?? [],
        mode: b.mode,
        slaSeconds: b.slaSeconds,
        defaultDecision: b.defaultDecision,
        updatedBy: p.keyId,
      });
      await appendAudit(db, {
        actor: p.keyId,
        tenant: p.tenant,
        action: 'review.policy_set',
        subject: b.campaign ?? null,
        detail: { mode: policy.mode, sampleRate: policy.sampleRate },
      });
      return policy;
    },
  );

  app.delete<{ Querystring: { campaign?: string } }>(
    '/v1/review-policies',
    {
      config: policyRoute,
      schema: {
        tags: ['review'],
        summary: "Removes the tenant's review policy, or a campaign's with `?campaign=`",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { campaign: policyProperties.campaign },
        },
        response: { 204: { type: 'null' }, 400: problem, 401: problem, 403: problem, 404: problem },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      if (!(await deleteReviewPolicy(db, p.tenant, req.query.campaign)))
        throw new HttpProblem(404, 'Not found');
      await appendAudit(db, {
        actor: p.keyId,
        tenant: p.tenant,
        action: 'review.policy_delete',
        subject: req.query.campaign ?? null,
      });
      return reply.code(204).send();
    },
  );
}
