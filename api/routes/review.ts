import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Client } from '@temporalio/client';
import type { RegionalClients } from '../../clients/temporal';
import { findMessageRegion } from '../../db/messages';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../../config/config';
import { appendAudit } from '../../db/audit';
import {
  claimTask,
  completeTask,
  listOpenTasks,
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
  type Verdict,
} from '../../domain/review';
import { reviewDecisionSignal } from '../../workflows/review-signal';
import { principalOf } from '../plugins/auth';
import { HttpProblem } from '../plugins/problem';
import { REVIEW_SESSION, reviewPageRoutes } from './review-page';
import { reviewPolicyRoutes } from './review-policies';

export interface ReviewRouteDeps {
  config: Config;
  db: Pool;
  temporal: Client;
  /** The clients of each region: a decision is signalled under the message's region's codec key. */
  regions: RegionalClients;
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

/** Appends a reviewer's action to the audit log (actor `reviewer:<key id>`, the reviewer's tenant). */
function auditReviewer(
  db: Pool,
  req: FastifyRequest,
  action: string,
  subject: string | null,
  detail = {},
) {
  const p = principalOf(req);
  return appendAudit(db, {
    actor: `reviewer:${p.keyId}`,
    tenant: p.tenant,
    action,
    subject,
    detail,
  });
}

const listTasksOptions = {
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
};

/** `GET /review/tasks`: the reviewer's queue, without content; audited. */
async function listTasks(db: Pool, req: FastifyRequest, reply: FastifyReply) {
  const tasks = await listOpenTasks(db, principalOf(req).tenant);
  await auditReviewer(db, req, 'review.list', null, { tasks: tasks.length });
  return reply.header('cache-control', 'no-store').send({ tasks });
}

const claimTaskOptions = {
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
};

/** `POST /review/tasks/claim`: a lease on the given task, else on the oldest free one; audited. */
async function claim(
  { db, config }: ReviewRouteDeps,
  req: FastifyRequest<{ Body: { taskId?: string } }>,
) {
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
  await auditReviewer(db, req, 'review.claim', lease.taskId, {
    leaseSeconds: config.review.leaseSeconds,
  });
  return lease;
}

const readTaskOptions = {
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
};

/** `GET /review/tasks/:id`: the redacted content, only while the caller holds the lease; audited either way. */
async function read(
  db: Pool,
  req: FastifyRequest<{ Params: { id: string } }>,
  reply: FastifyReply,
) {
  const p = principalOf(req);
  const access = await readTask(db, { tenant: p.tenant, reviewer: p.keyId, taskId: req.params.id });
  await auditReviewer(
    db,
    req,
    access.kind === 'leased' ? 'review.read' : 'review.read_denied',
    req.params.id,
    { access: access.kind },
  );
  if (access.kind !== 'leased') refuse(access.kind);
  return reply.header('cache-control', 'no-store').send(access.content);
}

const completeOptions = {
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
};

/**
 * `POST /review/tasks/:id/complete`: records the decision (note masked), audits it, then signals the
 * message's workflow. The decision is committed first: if the signal fails, the workflow reads it
 * from the database when its SLA timer fires.
 */
async function complete(
  { db, regions, log }: ReviewRouteDeps,
  req: FastifyRequest<{ Params: { id: string }; Body: CompleteBody }>,
) {
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
  await auditReviewer(db, req, 'review.complete', req.params.id, { verdict, reasonCode });
  try {
    await regions
      .forRegion(await findMessageRegion(db, done.messageId))
      .workflow.getHandle(done.messageId)
      .signal(reviewDecisionSignal, { taskId: req.params.id, verdict, reasonCode, note });
  } catch (err) {
    log.warn(
      { taskId: req.params.id, error: (err as Error).name },
      'review decision recorded but not signalled',
    );
  }
  return { taskId: req.params.id, verdict };
}

const releaseOptions = {
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
};

/** `POST /review/tasks/:id/release`: gives a held task back to the queue; audited. */
async function release(
  db: Pool,
  req: FastifyRequest<{ Params: { id: string } }>,
  reply: FastifyReply,
) {
  const p = principalOf(req);
  const args = { tenant: p.tenant, reviewer: p.keyId, taskId: req.params.id };
  if (!(await releaseTask(db, args))) refuse((await readTask(db, args)).kind);
  await auditReviewer(db, req, 'review.release', req.params.id);
  return reply.code(204).send();
}

/**
 * A request from another site never acts with the reviewer's cookie (SameSite=Strict already keeps
 * it from being sent; this refuses even what a lax browser might send).
 */
async function refuseOtherOrigins(req: FastifyRequest) {
  const origin = req.headers.origin;
  if (
    req.method !== 'GET' &&
    req.url.startsWith('/review') &&
    origin &&
    origin !== `${req.protocol}://${req.headers.host ?? ''}`
  )
    throw new HttpProblem(403, 'Forbidden', 'this origin may not call the reviewer API');
}

/**
 * Human review: the reviewer page (`GET /review`, api/routes/review-page.ts) and its sign-in, the
 * reviewer API under `/review/tasks` (list, claim with a lease, read while the lease is held,
 * complete, release; every read audited), and review policies for admins and operators
 * (`/v1/review-policies`, api/routes/review-policies.ts).
 */
export async function reviewRoutes(app: FastifyInstance, deps: ReviewRouteDeps): Promise<void> {
  const { db } = deps;
  app.addHook('onRequest', refuseOtherOrigins);
  await reviewPageRoutes(app, db);
  app.get('/review/tasks', listTasksOptions, (req, reply) => listTasks(db, req, reply));
  app.post<{ Body: { taskId?: string } }>('/review/tasks/claim', claimTaskOptions, (req) =>
    claim(deps, req),
  );
  app.get<{ Params: { id: string } }>('/review/tasks/:id', readTaskOptions, (req, reply) =>
    read(db, req, reply),
  );
  app.post<{ Params: { id: string }; Body: CompleteBody }>(
    '/review/tasks/:id/complete',
    completeOptions,
    (req) => complete(deps, req),
  );
  app.post<{ Params: { id: string } }>('/review/tasks/:id/release', releaseOptions, (req, reply) =>
    release(db, req, reply),
  );
  await reviewPolicyRoutes(app, db);
}
