/**
 * `POST /v1/messages`: its request and answer schemas and its handler, {@link sendMessage}, which
 * validates the request, runs admission (api/admission.ts) and answers 202 — or 200 for a dry run,
 * or the earlier answer for a retried Idempotency-Key. Registered by `messageRoutes`.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ulid } from 'ulid';
import { findCharge } from '../../db/charges';
import { findMessageStatus } from '../../db/messages';
import { findReviewPolicy } from '../../db/review';
import { messageIdFromIdempotencyKey, newMessageId } from '../../domain/ids';
import { redactNumber, type NormalizedRecipient } from '../../domain/phone';
import { fromMicros, toMicros } from '../../domain/policy';
import { regionFor, regionKey, type Region } from '../../domain/regions';
import { purgeBackstopBase } from '../../domain/scheduling';
import { encodeStartArgs, type SearchAttributeName } from '../../relay/start-relay';
import type { SendMessageInput } from '../../workflows/definitions';
import { PURPOSES, type Purpose } from '../../domain/purposes';
import { taskQueueFor } from '../../domain/regions';
import type { sendMessageWorkflow } from '../../workflows/send-message';
import { admitSend, dryRunAnswer, dryRunSchema, type SendFacts } from '../admission';
import { principalOf } from '../plugins/auth';
import { HttpProblem } from '../plugins/problem';
import {
  applyScheduling,
  schedulingAcceptedProperties,
  schedulingProperties,
  type Scheduling,
  type SchedulingBody,
} from '../scheduling';
import type { callbackUrlCheck } from './callback-secrets';
import type { MessageRouteDeps } from './messages';
import { canonicalRequest, checkBody, checkLength, checkRecipient } from './send-message-checks';

export interface SendBody extends SchedulingBody {
  to: string;
  body: string;
  purpose: Purpose;
  campaign?: string;
  sender?: string;
  callbackUrl?: string;
  // --- admission (api/admission.ts) ---
  dryRun?: boolean;
  maxPrice?: number;
}

/** The route's type parameters. */
export interface SendRoute {
  Body: SendBody;
  Headers: { 'idempotency-key'?: string };
}

const problem = { $ref: 'Problem#' } as const;

const sendBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['to', 'body', 'purpose'],
  properties: {
    to: {
      type: 'string',
      minLength: 1,
      maxLength: 32,
      description: 'Recipient in international format, e.g. +447400123456',
    },
    body: { type: 'string', minLength: 1, maxLength: 1600 },
    purpose: { type: 'string', enum: PURPOSES },
    campaign: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' },
    sender: { type: 'string', pattern: '^(\\+[1-9][0-9]{6,14}|[A-Za-z0-9 ]{1,11})$' },
    callbackUrl: { type: 'string', format: 'uri', pattern: '^https?://', maxLength: 2048 },
    // --- admission (api/admission.ts) ---
    dryRun: {
      type: 'boolean',
      description:
        'Validate, price and route only: nothing is sent or stored (200 with the decision)',
    },
    maxPrice: {
      type: 'number',
      minimum: 0,
      maximum: 1000000,
      description: 'Refuse (422) if the message would cost more (segments × price per segment)',
    },
    // sendAt, validitySeconds, smartEncoding (api/scheduling.ts)
    ...schedulingProperties,
  },
} as const;

const acceptedSchema = {
  type: 'object',
  required: ['id', 'status', 'encoding', 'segments'],
  properties: {
    id: { type: 'string' },
    status: { type: 'string' },
    encoding: { type: 'string', enum: ['GSM7', 'UCS2'] },
    segments: { type: 'integer' },
    price: { type: 'number', nullable: true, description: 'Null: no price known (unpriced)' },
    ...schedulingAcceptedProperties,
  },
} as const;

/** The route's options: role sender, and the schemas of its request and of every answer. */
export const sendMessageOptions = {
  config: { roles: ['sender' as const] },
  schema: {
    tags: ['messages'],
    summary: 'Send one SMS',
    description:
      'Accepts a message and starts its workflow. With an `Idempotency-Key` header, the same key and request return the same message and send once; the same key with a different request is 409.',
    headers: {
      type: 'object',
      properties: { 'idempotency-key': { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' } },
    },
    body: sendBodySchema,
    response: {
      200: dryRunSchema,
      202: acceptedSchema,
      400: problem,
      401: problem,
      403: problem,
      409: problem,
      422: problem,
      413: problem,
      429: problem,
    },
  },
};

/** What the handler needs: the routes' dependencies and the callback URL check built once for them. */
export type SendDeps = MessageRouteDeps & { checkCallbackUrl: ReturnType<typeof callbackUrlCheck> };

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** One validated request on its way to admission. */
interface Accepting {
  req: FastifyRequest<SendRoute>;
  tenant: string;
  b: SendBody;
  recipient: NormalizedRecipient;
  region: Region;
  scheduled: Scheduling;
  facts: SendFacts;
  canonical: string;
}

/** `POST /v1/messages` (role sender): validate, then a dry run's decision, or admit and answer 202. */
export async function sendMessage(
  deps: SendDeps,
  req: FastifyRequest<SendRoute>,
  reply: FastifyReply,
) {
  const { tenant, keyId } = principalOf(req);
  const b = req.body;
  const recipient = checkRecipient(b.to);
  checkBody(b.body);
  if (b.callbackUrl !== undefined)
    await deps.checkCallbackUrl(b.callbackUrl, tenant, deps.configCache);
  // Scheduled sends, validity and smart encoding (api/scheduling.ts).
  const acceptedAt = Date.now();
  const scheduled = applyScheduling(b, acceptedAt);
  const m = scheduled.measurement;
  checkLength(m);
  const key = req.headers['idempotency-key'];
  const messageId = key ? messageIdFromIdempotencyKey(tenant, key, sha256) : newMessageId(ulid);
  const canonical = canonicalRequest(tenant, recipient.e164, b);
  const region = regionFor(recipient.country);
  // --- admission: dry run, country rules, velocity, price and spend cap ---
  const facts: SendFacts = {
    messageId,
    tenant,
    keyId,
    country: recipient.country,
    purpose: b.purpose,
    segments: m.segments,
    maxPrice: b.maxPrice === undefined ? undefined : toMicros(b.maxPrice),
    now: acceptedAt,
    idempotent: key !== undefined,
  };
  if (b.dryRun) {
    const { config, db, configCache, tokens } = deps;
    const answer = await dryRunAnswer(
      { config, db, cache: configCache, tokens },
      { ...facts, to: recipient.e164, campaign: b.campaign, requestedSender: b.sender },
      { region, recipient: redactNumber(recipient.e164), encoding: m.encoding },
    );
    return reply.status(200).send(answer);
  }
  const accepting = { req, tenant, b, recipient, region, scheduled, facts, canonical };
  const admission = await admit(deps, accepting).catch((err: unknown) => {
    const retryAfter = (err as { retryAfterSeconds?: number }).retryAfterSeconds;
    if (retryAfter) reply.header('retry-after', String(retryAfter));
    throw err;
  });
  const price = admission.price === undefined ? null : fromMicros(admission.price);
  if (!admission.fresh) return answerRetried(deps, accepting, price, reply);
  deps.startRelay.nudge();
  deps.metrics?.accepted.inc({ country: recipient.country, purpose: b.purpose, region });
  return reply.status(202).send({
    id: messageId,
    status: 'accepted',
    encoding: m.encoding,
    segments: m.segments,
    price,
    ...scheduled.accepted,
  });
}

/**
 * Seals the message and admits it. One statement accepts the message (db/admission.ts,
 * admitMessage): its charge, a send from the tenant's daily quota (PostgreSQL, shared by every API
 * process), its spend reservation and its workflow start (table workflow_starts, arguments
 * codec-encrypted); an OTP velocity count joins it in a transaction. Any refusal undoes all of it.
 * The start relay (relay/start-relay.ts) starts the workflow right after the commit, so a slow or
 * unreachable Temporal delays the send, never the 202. Each step's time goes into the answer's
 * Server-Timing header (api/plugins/server-timing.ts).
 */
async function admit(deps: SendDeps, a: Accepting) {
  const { config, db, configCache, fingerprints } = deps;
  const { b, facts, scheduled, region } = a;
  const reviewLookup = lookUpReview(deps, a);
  const input: Omit<SendMessageInput, 'policy'> = {
    messageId: facts.messageId,
    tenant: a.tenant,
    purpose: b.purpose,
    region,
    country: a.recipient.country,
    recipientHint: redactNumber(a.recipient.e164),
    encoding: scheduled.measurement.encoding,
    segments: scheduled.measurement.segments,
    campaign: b.campaign,
    sender: b.sender,
    callbackUrl: b.callbackUrl,
    validitySeconds: scheduled.validitySeconds,
    sendAt: scheduled.sendAt,
    acceptedAt: facts.now,
  };
  const sealed = await seal(deps, a);
  return admitSend(
    { config, db, cache: configCache, timing: a.req.timing },
    {
      ...facts,
      requestFingerprint: await fingerprints.of(a.canonical),
      record: {
        region,
        encoding: scheduled.measurement.encoding,
        campaign: b.campaign,
        purgeBackstopAt: purgeBackstopBase(input, config.retention.stuckAfterSeconds),
        retentionSeconds: config.retention.defaults[b.purpose],
      },
      sealed,
    },
    async (holdUntil) => {
      const args = [
        { ...input, policy: { holdUntil, charged: true } },
        {
          receiptTimeoutSeconds: config.receiptTimeoutSeconds,
          review: await reviewLookup,
          receiptFailover: {
            errorCodes: [...config.receiptFailover.errorCodes],
            maxRedispatches: config.receiptFailover.maxRedispatches,
          },
        },
      ] satisfies Parameters<typeof sendMessageWorkflow>;
      return {
        messageId: facts.messageId,
        tenant: a.tenant,
        workflowType: 'sendMessageWorkflow',
        taskQueue: taskQueueFor(region, config.temporal.taskQueuePrefix),
        args: await encodeStartArgs(deps.regions.forRegion(region), args),
        searchAttributes: {
          status: 'accepted',
          tenant: a.tenant,
          purpose: b.purpose,
          country: a.recipient.country,
          region,
        } satisfies Partial<Record<SearchAttributeName, string>>,
      };
    },
  );
}

/**
 * Whether the message goes through review. Messages of tenants without a review policy skip the
 * review step altogether. Looked up while admission runs (it never rejects). If the lookup fails,
 * accepting must not: the workflow's review activity then decides, with retries.
 */
function lookUpReview({ db, configCache }: SendDeps, { req, tenant, b }: Accepting) {
  return configCache
    .read(`review:${tenant}|${b.campaign ?? ''}`, async () =>
      Boolean(await findReviewPolicy(db, tenant, b.campaign)),
    )
    .catch((err: Error) => {
      req.log.warn({ error: err.name }, 'review policy lookup failed; the workflow will check');
      return true;
    });
}

/**
 * The number and text go no further than this process in the clear: sealed under the region's
 * key (a cached data key, so no Vault round trip on average), stored by the admitting statement
 * (`message_intake`), opened by the region's worker only. The workflow input carries the id.
 */
async function seal({ cipher }: SendDeps, { region, recipient, scheduled }: Accepting) {
  const transitKey = regionKey(region);
  const [numberCiphertext, bodyCiphertext] = await cipher.seal(transitKey, [
    Buffer.from(recipient.e164),
    Buffer.from(scheduled.text),
  ]);
  return {
    region,
    transitKey,
    numberCiphertext: numberCiphertext!,
    bodyCiphertext: bodyCiphertext!,
  };
}

/**
 * The same Idempotency-Key again (nothing was counted twice): the same request gets the same
 * answer, another one a 409. The request is compared with the keyed fingerprint its charge row
 * keeps (never in Temporal), which outlives the purge; a row without one (accepted before
 * fingerprints were kept there, or erased) cannot be compared and gets the same answer.
 */
async function answerRetried(
  { db, fingerprints, startRelay }: SendDeps,
  { tenant, facts, scheduled, canonical }: Accepting,
  price: number | null,
  reply: FastifyReply,
) {
  const { messageId } = facts;
  const stored = (await findCharge(db, messageId))?.requestFingerprint;
  if (stored && !(await fingerprints.matches(stored, canonical))) {
    throw new HttpProblem(
      409,
      'Idempotency-Key reused',
      'this Idempotency-Key was used for a different request',
    );
  }
  // Its workflow is started first if the relay has not done so yet.
  await startRelay.ensureStarted(messageId, tenant);
  // Its status from its record in PostgreSQL, never from Temporal: the API encodes payloads but may
  // decrypt none (docs/privacy.md, "Region keys and Vault identities"). A row not written yet reads
  // as accepted, as GET /v1/messages/:id answers it; the record outlives the history's purge, and
  // the message is never sent again.
  const status = (await findMessageStatus(db, messageId, tenant)) ?? 'accepted';
  return reply.status(202).send({
    id: messageId,
    status,
    encoding: scheduled.measurement.encoding,
    segments: scheduled.measurement.segments,
    price,
    sendAt: scheduled.accepted.sendAt,
    segmentsSaved: scheduled.accepted.segmentsSaved,
  });
}
