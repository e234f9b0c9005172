import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Client } from '@temporalio/client';
import type { RegionalClients } from '../../clients/temporal';
import type { Pool } from 'pg';
import type { MessageCipher } from '../../encryption/message-cipher';
import type { RequestFingerprints } from '../../encryption/request-fingerprint';
import type { SubscriberTokens } from '../../encryption/subscriber-token';
import type { VaultClient } from '../../clients/vault';
import type { Metrics } from '../../clients/metrics';
import type { Config } from '../../config/config';
import { appendAudit } from '../../db/audit';
import { findCharge, findTenantCharge } from '../../db/charges';
import type { ConfigCache } from '../../db/config-cache';
import { findMessage, findMessageStatus } from '../../db/messages';
import { hasLiveWorker } from '../../db/worker-heartbeats';
import { isMessageId } from '../../domain/ids';
import { fromMicros } from '../../domain/policy';
import { regionFor, type Region } from '../../domain/regions';
import type { StartRelay } from '../../relay/start-relay';
import { cancelSignal, searchAttributes } from '../../workflows/definitions';
import { taskQueueFor } from '../../domain/regions';
import { principalOf } from '../plugins/auth';
import { HttpProblem } from '../plugins/problem';
import { callbackUrlCheck } from './callback-secrets';
import { sendMessage, sendMessageOptions, type SendRoute } from './send-message';

export interface MessageRouteDeps {
  config: Config;
  temporal: Client;
  /** The clients of each region: a message's start and signals are encoded under its region's codec key. */
  regions: RegionalClients;
  db: Pool;
  vault: VaultClient;
  /** Starts the workflows of accepted messages (relay/start-relay.ts). */
  startRelay: StartRelay;
  /** Rules, prices, caps and review policies between requests (db/config-cache.ts). */
  configCache: ConfigCache;
  /** Seals the number and text under the region's key (`seal` only: the API may not open them). */
  cipher: Pick<MessageCipher, 'seal'>;
  metrics?: Metrics;
  /** Keyed fingerprints of requests (encryption/request-fingerprint.ts), kept only in `message_charges`. */
  fingerprints: RequestFingerprints;
  /** Subscriber tokens (a dry run's sticky-sender lookup). */
  tokens: SubscriberTokens;
}

/** The status `GET /v1/messages/:id` shows for an unfinished message no worker can move now. */
export const WAITING = 'waiting';
/** Its reason: no worker polls the task queue of the message's region. */
export const NO_WORKER = 'no_worker_for_region';

const messageSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    status: { type: 'string' },
    purpose: { type: 'string' },
    country: { type: 'string', nullable: true },
    recipient: { type: 'string', description: 'Calling code and last two digits only' },
    encoding: { type: 'string' },
    segments: { type: 'integer' },
    price: { type: 'number', nullable: true },
    campaign: { type: 'string', nullable: true },
    carrier: { type: 'string', nullable: true },
    sender: { type: 'string', nullable: true },
    submittedParts: {
      type: 'integer',
      description:
        'Parts the carrier acknowledged; fewer than `segments` is a partial send (the handset holds an incomplete message)',
    },
    attempts: { type: 'integer' },
    reason: { type: 'string', nullable: true },
    createdAt: { type: 'string' },
    submittedAt: { type: 'string', nullable: true },
    completedAt: { type: 'string', nullable: true },
    purgedAt: {
      type: 'string',
      description:
        'Set once the personal data is purged (retention or erasure); only the billing record remains',
    },
    tenant: { type: 'string' },
    history: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          status: { type: 'string' },
          at: { type: 'string' },
          carrier: { type: 'string', nullable: true },
          detail: { type: 'string', nullable: true },
        },
      },
    },
  },
} as const;

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', maxLength: 40 } },
} as const;
const problem = { $ref: 'Problem#' } as const;

type ByIdRequest = FastifyRequest<{ Params: { id: string } }>;

const readMessageOptions = {
  config: { roles: ['sender' as const] },
  schema: {
    tags: ['messages'],
    summary: 'A message: status, history and redacted metadata',
    params: idParams,
    response: { 200: messageSchema, 401: problem, 403: problem, 404: problem },
  },
};

const cancelMessageOptions = {
  config: { roles: ['sender' as const] },
  schema: {
    tags: ['messages'],
    summary: 'Cancel a message that has not been submitted to a carrier yet',
    params: idParams,
    response: {
      202: {
        type: 'object',
        properties: { id: { type: 'string' }, status: { type: 'string' } },
      },
      401: problem,
      403: problem,
      404: problem,
      409: problem,
    },
  },
};

/**
 * An unfinished message whose region's task queue has no live worker (its heartbeat row, see
 * db/worker-heartbeats.ts) is shown as waiting: read from PostgreSQL, never from Temporal.
 */
async function waitingForWorker(
  { db, config }: MessageRouteDeps,
  region: string,
  unfinished: boolean,
): Promise<boolean> {
  return (
    unfinished &&
    !(await hasLiveWorker(db, taskQueueFor(region as Region, config.temporal.taskQueuePrefix)))
  );
}

/** `GET /v1/messages/:id`: the status row and history from PostgreSQL, never a call to Temporal. */
export async function readMessage(deps: MessageRouteDeps, req: ByIdRequest) {
  const { db } = deps;
  const { tenant, keyId } = principalOf(req);
  const id = req.params.id;
  if (!isMessageId(id)) throw new HttpProblem(404, 'Not found');
  const row = await findMessage(db, id, tenant);
  if (row?.purged_at) {
    // Purged: only the redacted billing record is left.
    return {
      id: row.id,
      tenant: row.tenant,
      status: row.status,
      purpose: row.purpose,
      country: row.country,
      segments: row.segments,
      carrier: row.carrier,
      createdAt: row.created_at.toISOString(),
      submittedAt: row.submitted_at?.toISOString() ?? null,
      completedAt: row.completed_at?.toISOString() ?? null,
      purgedAt: row.purged_at.toISOString(),
    };
  }
  if (row) {
    await appendAudit(db, { actor: keyId, tenant, action: 'message.read', subject: id });
    const charge = await findCharge(db, id);
    const waiting = await waitingForWorker(deps, row.region, row.completed_at === null);
    return {
      id: row.id,
      status: waiting ? WAITING : row.status,
      purpose: row.purpose,
      country: row.country,
      recipient: row.recipient_hint,
      encoding: row.encoding,
      segments: row.segments,
      price: charge?.price == null ? null : fromMicros(charge.price),
      campaign: row.campaign,
      carrier: row.carrier,
      sender: row.sender,
      submittedParts: row.submitted_parts,
      attempts: row.attempts,
      reason: waiting ? NO_WORKER : row.reason,
      createdAt: row.created_at.toISOString(),
      submittedAt: row.submitted_at?.toISOString() ?? null,
      completedAt: row.completed_at?.toISOString() ?? null,
      history: row.history,
    };
  }
  // Admitted before its status row was written at admission (an older message not tokenized yet):
  // its charge row, written by the same statement, says it is accepted. Never a call to Temporal.
  const charged = await findTenantCharge(db, id, tenant);
  if (!charged) throw new HttpProblem(404, 'Not found');
  const at = charged.createdAt.toISOString();
  const waiting = await waitingForWorker(deps, regionFor(charged.country), true);
  return {
    id,
    status: waiting ? WAITING : 'accepted',
    ...(waiting ? { reason: NO_WORKER } : {}),
    attempts: 0,
    createdAt: at,
    history: [{ status: 'accepted', at }],
  };
}

/** `POST /v1/messages/:id/cancel`: signals the workflow of a message not yet handed to a carrier. */
export async function cancelMessage(
  { db, startRelay, temporal, regions }: MessageRouteDeps,
  req: ByIdRequest,
  reply: FastifyReply,
) {
  const { tenant } = principalOf(req);
  const id = req.params.id;
  if (!isMessageId(id)) throw new HttpProblem(404, 'Not found');
  // A message accepted a moment ago may still wait for its start: start it (only if it is this
  // tenant's: the claim checks the tenant in PostgreSQL first), then cancel.
  await startRelay.ensureStarted(id, tenant);
  const handle = temporal.workflow.getHandle(id);
  let description;
  try {
    description = await handle.describe();
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') throw new HttpProblem(404, 'Not found');
    throw err;
  }
  if (description.typedSearchAttributes.get(searchAttributes.tenant) !== tenant)
    throw new HttpProblem(404, 'Not found');
  if (description.status.name !== 'RUNNING')
    throw new HttpProblem(409, 'Already final', 'the message has already reached a final status');
  // Its status from its record in PostgreSQL, not a query: the API may decrypt no payload. A record
  // a step behind its workflow is harmless: the workflow ignores a cancel once it has submitted.
  const status = (await findMessageStatus(db, id, tenant)) ?? 'accepted';
  if (!['accepted', 'tokenized', 'scheduled', 'held', 'in_review', 'routed'].includes(status)) {
    throw new HttpProblem(409, 'Already submitted', 'the message was already handed to a carrier');
  }
  const region = (description.typedSearchAttributes.get(searchAttributes.region) ??
    'global') as Region;
  await regions.forRegion(region).workflow.getHandle(id).signal(cancelSignal, { reason: 'client' });
  return reply.status(202).send({ id, status: 'cancelling' });
}

/** Sending: `POST /v1/messages`, `GET /v1/messages/:id`, `POST /v1/messages/:id/cancel` (role sender, own tenant only). */
export async function messageRoutes(app: FastifyInstance, deps: MessageRouteDeps) {
  const send = { ...deps, checkCallbackUrl: callbackUrlCheck(deps) };
  app.post<SendRoute>('/v1/messages', sendMessageOptions, (req, reply) =>
    sendMessage(send, req, reply),
  );
  app.get<{ Params: { id: string } }>('/v1/messages/:id', readMessageOptions, (req) =>
    readMessage(deps, req),
  );
  app.post<{ Params: { id: string } }>(
    '/v1/messages/:id/cancel',
    cancelMessageOptions,
    (req, reply) => cancelMessage(deps, req, reply),
  );
}
