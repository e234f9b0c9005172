import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { ulid } from 'ulid';
import type { MessageCipher } from '../../encryption/message-cipher';
import type { RequestFingerprints } from '../../encryption/request-fingerprint';
import type { SubscriberTokens } from '../../encryption/subscriber-token';
import type { VaultClient } from '../../clients/vault';
import type { Metrics } from '../../clients/metrics';
import type { Config } from '../../config/config';
import { appendAudit } from '../../db/audit';
import { findCharge } from '../../db/charges';
import { hasLiveWorker } from '../../db/worker-heartbeats';
import { fromMicros, toMicros } from '../../domain/policy';
import type { ConfigCache } from '../../db/config-cache';
import { findReviewPolicy } from '../../db/review';
import { isMessageId, messageIdFromIdempotencyKey, newMessageId } from '../../domain/ids';
import { normalizeRecipient, redactNumber } from '../../domain/phone';
import { regionFor, regionKey, type Region } from '../../domain/regions';
import { purgeBackstopBase } from '../../domain/scheduling';
import { testNumberRecipient } from '../../domain/test-numbers';
import {
  cancelSignal,
  getStatusQuery,
  PURPOSES,
  searchAttributes,
  taskQueueFor,
  type Purpose,
  type SendMessageInput,
} from '../../workflows/definitions';
import type { sendMessageWorkflow } from '../../workflows/send-message';
import { principalOf } from '../plugins/auth';
import { callbackUrlCheck } from './callback-secrets';
import { HttpProblem } from '../plugins/problem';
import { refuseText } from '../../domain/text';
import { admitSend, dryRunAnswer, dryRunSchema } from '../admission';
import {
  encodeStartArgs,
  type SearchAttributeName,
  type StartRelay,
} from '../../relay/start-relay';
import {
  applyScheduling,
  schedulingAcceptedProperties,
  schedulingProperties,
  type SchedulingBody,
} from '../scheduling';

export interface MessageRouteDeps {
  config: Config;
  temporal: Client;
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

/** The longest message we accept, in segments (a carrier-side limit most networks share). */
export const MAX_SEGMENTS = 10;

interface SendBody extends SchedulingBody {
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

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

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

/**
 * The canonical form of a request, whose keyed fingerprint tells a retried POST from a different one
 * under the same key. Exported for the test that proves no Temporal payload holds its plain hash.
 */
export function canonicalRequest(tenant: string, e164: string, b: SendBody): string {
  return JSON.stringify([
    tenant,
    e164,
    b.body,
    b.purpose,
    b.campaign ?? null,
    b.sender ?? null,
    b.callbackUrl ?? null,
    b.validitySeconds ?? null,
    ...(b.maxPrice === undefined ? [] : [{ maxPrice: b.maxPrice }]),
    b.sendAt ?? null,
    b.smartEncoding ?? false,
  ]);
}

/** Sending: `POST /v1/messages`, `GET /v1/messages/:id`, `POST /v1/messages/:id/cancel` (role sender, own tenant only). */
export async function messageRoutes(
  app: FastifyInstance,
  {
    config,
    temporal,
    db,
    startRelay,
    configCache,
    metrics,
    fingerprints,
    tokens,
    cipher,
  }: MessageRouteDeps,
) {
  const checkCallbackUrl = callbackUrlCheck({ config, db });
  /**
   * An unfinished message whose region's task queue has no live worker (its heartbeat row, see
   * db/worker-heartbeats.ts) is shown as waiting: read from PostgreSQL, never from Temporal.
   */
  const waitingForWorker = async (region: string, unfinished: boolean) =>
    unfinished &&
    !(await hasLiveWorker(db, taskQueueFor(region as Region, config.temporal.taskQueuePrefix)));
  app.post<{ Body: SendBody; Headers: { 'idempotency-key'?: string } }>(
    '/v1/messages',
    {
      config: { roles: ['sender'] },
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
    },
    async (req, reply) => {
      const { tenant, keyId } = principalOf(req);
      const b = req.body;
      // The documented test numbers (domain/test-numbers.ts) first: they are no real subscriber's.
      const recipient = testNumberRecipient(b.to) ?? normalizeRecipient(b.to);
      if (!recipient.ok) {
        throw new HttpProblem(
          400,
          'Invalid recipient',
          recipient.reason === 'not_mobile'
            ? '`to` is not a mobile number'
            : '`to` is not a valid international phone number (E.164, with +)',
          ['to'],
        );
      }
      const textRefusal = refuseText(b.body);
      if (textRefusal) {
        throw new HttpProblem(
          400,
          'Invalid body',
          textRefusal === 'control_character'
            ? '`body` contains a control character; only line feed, carriage return and tab are allowed'
            : '`body` contains a lone surrogate (an unpaired \\ud800-\\udfff escape): not Unicode text',
          ['body'],
        );
      }
      if (b.callbackUrl !== undefined) await checkCallbackUrl(b.callbackUrl, tenant, configCache);
      // Scheduled sends, validity and smart encoding (api/scheduling.ts).
      const acceptedAt = Date.now();
      const controls = applyScheduling(b, acceptedAt);
      const m = controls.measurement;
      if (m.segments > MAX_SEGMENTS) {
        throw new HttpProblem(
          400,
          'Message too long',
          `\`body\` needs ${m.segments} ${m.encoding} segments; at most ${MAX_SEGMENTS} are allowed`,
          ['body'],
        );
      }
      const key = req.headers['idempotency-key'];
      const messageId = key ? messageIdFromIdempotencyKey(tenant, key, sha256) : newMessageId(ulid);
      const canonical = canonicalRequest(tenant, recipient.e164, b);
      const region = regionFor(recipient.country);
      // --- admission: dry run, country rules, velocity, price and spend cap ---
      const facts = {
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
        const answer = await dryRunAnswer(
          { config, db, cache: configCache, tokens },
          { ...facts, to: recipient.e164, campaign: b.campaign, requestedSender: b.sender },
          { region, recipient: redactNumber(recipient.e164), encoding: m.encoding },
        );
        return reply.status(200).send(answer);
      }
      // Messages of tenants without a review policy skip the review step altogether. Looked up while
      // admission runs (it never rejects). If the lookup fails, accepting must not: the workflow's
      // review activity then decides, with retries.
      const reviewLookup = configCache
        .read(`review:${tenant}|${b.campaign ?? ''}`, async () =>
          Boolean(await findReviewPolicy(db, tenant, b.campaign)),
        )
        .catch((err: Error) => {
          req.log.warn({ error: err.name }, 'review policy lookup failed; the workflow will check');
          return true;
        });
      const input: Omit<SendMessageInput, 'policy'> = {
        messageId,
        tenant,
        purpose: b.purpose,
        region,
        country: recipient.country,
        recipientHint: redactNumber(recipient.e164),
        encoding: m.encoding,
        segments: m.segments,
        campaign: b.campaign,
        sender: b.sender,
        callbackUrl: b.callbackUrl,
        validitySeconds: controls.validitySeconds,
        sendAt: controls.sendAt,
        acceptedAt,
      };
      // The number and text go no further than this process in the clear: sealed under the region's
      // key (a cached data key, so no Vault round trip on average), stored by the admitting statement
      // (`message_intake`), opened by the region's worker only. The workflow input carries the id.
      const transitKey = regionKey(region);
      const [numberCiphertext, bodyCiphertext] = await cipher.seal(transitKey, [
        Buffer.from(recipient.e164),
        Buffer.from(controls.text),
      ]);
      const sealed = {
        region,
        transitKey,
        numberCiphertext: numberCiphertext!,
        bodyCiphertext: bodyCiphertext!,
      };
      // One statement accepts the message (db/admission.ts, admitMessage): its charge, a send from
      // the tenant's daily quota (PostgreSQL, shared by every API process), its spend reservation and
      // its workflow start (table workflow_starts, arguments codec-encrypted); an OTP velocity count
      // joins it in a transaction. Any refusal undoes all of it. The start relay (relay/start-relay.ts) starts the workflow right
      // after the commit, so a slow or unreachable Temporal delays the send, never the 202.
      // Each step's time goes into the answer's Server-Timing header (api/plugins/server-timing.ts).
      const admission = await admitSend(
        { config, db, cache: configCache, timing: req.timing },
        {
          ...facts,
          requestFingerprint: await fingerprints.of(canonical),
          record: {
            region,
            encoding: m.encoding,
            campaign: b.campaign,
            purgeBackstopAt: purgeBackstopBase(input, config.retention.stuckAfterSeconds),
            retentionSeconds: config.retention.defaults[b.purpose],
          },
          sealed,
        },
        async (holdUntil) => {
          const review = await reviewLookup;
          const args = [
            { ...input, policy: { holdUntil, charged: true } },
            {
              receiptTimeoutSeconds: config.receiptTimeoutSeconds,
              review,
              receiptFailover: {
                errorCodes: [...config.receiptFailover.errorCodes],
                maxRedispatches: config.receiptFailover.maxRedispatches,
              },
            },
          ] satisfies Parameters<typeof sendMessageWorkflow>;
          return {
            messageId,
            tenant,
            workflowType: 'sendMessageWorkflow',
            taskQueue: taskQueueFor(region, config.temporal.taskQueuePrefix),
            args: await encodeStartArgs(temporal, args),
            searchAttributes: {
              status: 'accepted',
              tenant,
              purpose: b.purpose,
              country: recipient.country,
              region,
            } satisfies Partial<Record<SearchAttributeName, string>>,
          };
        },
      ).catch((err: unknown) => {
        const retryAfter = (err as { retryAfterSeconds?: number }).retryAfterSeconds;
        if (retryAfter) reply.header('retry-after', String(retryAfter));
        throw err;
      });
      const price = admission.price === undefined ? null : fromMicros(admission.price);
      if (admission.fresh) {
        startRelay.nudge();
        metrics?.accepted.inc({ country: recipient.country, purpose: b.purpose, region });
        return reply.status(202).send({
          id: messageId,
          status: 'accepted',
          encoding: m.encoding,
          segments: m.segments,
          price,
          ...controls.accepted,
        });
      }
      // The same Idempotency-Key again (nothing was counted twice): the same request gets the same
      // answer, another one a 409. The request is compared with the keyed fingerprint its charge row
      // keeps (never in Temporal), which outlives the purge; a row without one (accepted before
      // fingerprints were kept there, or erased) cannot be compared and gets the same answer.
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
      const existing = await temporal.workflow
        .getHandle(messageId)
        .query(getStatusQuery)
        .catch(async (err: Error) => {
          if (err.name !== 'WorkflowNotFoundError') throw err;
          // Its history is gone (purged after retention): its record says what became of it, and the
          // message is never sent again.
          const { rows } = await db.query<{ status: string }>(
            'select status from messages where id = $1 and tenant = $2',
            [messageId, tenant],
          );
          if (!rows[0]) throw err;
          return { status: rows[0].status };
        });
      return reply.status(202).send({
        id: messageId,
        status: existing.status,
        encoding: m.encoding,
        segments: m.segments,
        price,
        sendAt: controls.accepted.sendAt,
        segmentsSaved: controls.accepted.segmentsSaved,
      });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/messages/:id',
    {
      config: { roles: ['sender'] },
      schema: {
        tags: ['messages'],
        summary: 'A message: status, history and redacted metadata',
        params: idParams,
        response: { 200: messageSchema, 401: problem, 403: problem, 404: problem },
      },
    },
    async (req) => {
      const { tenant, keyId } = principalOf(req);
      const id = req.params.id;
      if (!isMessageId(id)) throw new HttpProblem(404, 'Not found');
      const { rows } = await db.query(
        `select m.*, coalesce((select json_agg(json_build_object('status', e.status, 'at', e.at, 'carrier', e.carrier, 'detail', e.detail) order by e.at, e.id)
                                 from message_events e where e.message_id = m.id), '[]'::json) as history,
                (select count(*)::int from dispatch_journal j where j.message_id = m.id and j.carrier = m.carrier) as submitted_parts
           from messages m where m.id = $1 and m.tenant = $2`,
        [id, tenant],
      );
      const row = rows[0];
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
        const waiting = await waitingForWorker(row.region, row.completed_at === null);
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
      const { rows: charges } = await db.query<{ country: string; created_at: Date }>(
        'select country, created_at from message_charges where message_id = $1 and tenant = $2',
        [id, tenant],
      );
      const charged = charges[0];
      if (!charged) throw new HttpProblem(404, 'Not found');
      const at = charged.created_at.toISOString();
      const waiting = await waitingForWorker(regionFor(charged.country), true);
      return {
        id,
        status: waiting ? WAITING : 'accepted',
        ...(waiting ? { reason: NO_WORKER } : {}),
        attempts: 0,
        createdAt: at,
        history: [{ status: 'accepted', at }],
      };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/messages/:id/cancel',
    {
      config: { roles: ['sender'] },
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
    },
    async (req, reply) => {
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
        if ((err as Error).name === 'WorkflowNotFoundError')
          throw new HttpProblem(404, 'Not found');
        throw err;
      }
      if (description.typedSearchAttributes.get(searchAttributes.tenant) !== tenant)
        throw new HttpProblem(404, 'Not found');
      if (description.status.name !== 'RUNNING')
        throw new HttpProblem(
          409,
          'Already final',
          'the message has already reached a final status',
        );
      const view = await handle.query(getStatusQuery);
      if (
        !['accepted', 'tokenized', 'scheduled', 'held', 'in_review', 'routed'].includes(view.status)
      ) {
        throw new HttpProblem(
          409,
          'Already submitted',
          'the message was already handed to a carrier',
        );
      }
      await handle.signal(cancelSignal, { reason: 'client' });
      return reply.status(202).send({ id, status: 'cancelling' });
    },
  );
}
