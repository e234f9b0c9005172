import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Pool } from 'pg';
import { appendAudit } from '../../db/audit';
import { deleteReviewPolicy, listReviewPolicies, putReviewPolicy } from '../../db/review';
import { VERDICTS, type ReviewMode, type Verdict } from '../../domain/review';
import { principalOf } from '../plugins/auth';
import { HttpProblem } from '../plugins/problem';

const problem = { $ref: 'Problem#' } as const;
const policyRoute = { roles: ['admin', 'operator'] as const };

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

const listPoliciesOptions = {
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
};

/** `GET /v1/review-policies`: the tenant's default policy and its campaigns'. */
async function listPolicies(db: Pool, req: FastifyRequest) {
  return { policies: await listReviewPolicies(db, principalOf(req).tenant) };
}

const putPolicyOptions = {
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
};

/** `PUT /v1/review-policies`: creates or replaces a policy, audited (`review.policy_set`). */
async function putPolicy(db: Pool, req: FastifyRequest<{ Body: PolicyBody }>) {
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
}

const deletePolicyOptions = {
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
};

/** `DELETE /v1/review-policies`: removes a policy, audited (`review.policy_delete`). */
async function deletePolicy(
  db: Pool,
  req: FastifyRequest<{ Querystring: { campaign?: string } }>,
  reply: FastifyReply,
) {
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
}

/** Review policies for admins and operators: which messages are held for review, and how. */
export async function reviewPolicyRoutes(app: FastifyInstance, db: Pool): Promise<void> {
  app.get('/v1/review-policies', listPoliciesOptions, (req) => listPolicies(db, req));
  app.put<{ Body: PolicyBody }>('/v1/review-policies', putPolicyOptions, (req) =>
    putPolicy(db, req),
  );
  app.delete<{ Querystring: { campaign?: string } }>(
    '/v1/review-policies',
    deletePolicyOptions,
    (req, reply) => deletePolicy(db, req, reply),
  );
}
