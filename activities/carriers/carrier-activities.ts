import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import type { Pool } from 'pg';
import { CarrierErrorType, isCarrierError } from '../../carriers/errors';
import type { CarrierAdapter } from '../../carriers/types';
import { MessageCipher } from '../../encryption/message-cipher';
import type { VaultClient } from '../../clients/vault';
import { appendAudit } from '../../db/audit';
import { testNumberBehaviour } from '../../domain/test-numbers';
import { ErrorType } from '../../workflows/options';
import { secondsSince, type Metrics } from '../../clients/metrics';
import { recordDispatchOutcome, recordPartialSubmit, recordSubmitted } from '../../db/operations';
import { transitKeys } from '../vault/tokenize-message';
import { assertRegion, WRONG_REGION, type Residency } from '../residency';
import { CircuitBreaker } from './breaker';

/** The carriers one worker can reach: adapters by name and the routing order for a destination. */
export interface CarrierDirectory {
  get(name: string): CarrierAdapter | undefined;
  /** Carrier names serving `country`, best first (by priority). */
  eligible(country: string): string[];
}

export interface SubmitToCarrierInput {
  messageId: string;
  carrier: string;
  sender: string;
  validitySeconds?: number;
  /**
   * Epoch ms after which nothing may be sent (the end of the message's validity): checked before
   * each try and again right before each part goes on the wire; the carrier is told the time left.
   */
  notAfter?: number;
}

export interface SubmitToCarrierResult {
  carrierMessageIds: string[];
  parts: number;
  encoding: 'GSM7' | 'UCS2';
}

/**
 * The details of a failed `submitToCarrier` (the ApplicationFailure's first detail): what the
 * workflow needs to wait well and to report a partial send. No personal value.
 */
export interface SubmitFailureDetails {
  commandStatus: number | null;
  /** How long the carrier (or its circuit breaker) asks us to wait before trying again. */
  retryAfterMs?: number;
  /** Parts this carrier has acknowledged so far (journal), by part index: a partial send when not all. */
  ackedParts: Record<number, string>;
  /** The message's parts (segments). */
  parts: number;
}

/**
 * Failures the activity does not retry itself. PERMANENT: the workflow fails over. UNAVAILABLE (not
 * bound, circuit open): the workflow fails over at once when another carrier exists, else waits and
 * tries again within the validity. THROTTLED and TRANSIENT are retried here with backoff.
 */
const nonRetryable = new Set<string>([
  CarrierErrorType.PERMANENT,
  CarrierErrorType.UNAVAILABLE,
  CarrierErrorType.VALIDITY_EXPIRED,
  CarrierErrorType.OPTED_OUT,
]);
/**
 * The carrier's health faults, the only ones that count towards its circuit breaker. Throttling is
 * the carrier working as designed (the adapter slows down); the others are answers about the message.
 */
const carrierFaults = new Set<string>([CarrierErrorType.TRANSIENT, CarrierErrorType.UNAVAILABLE]);
/** How often a running submit heartbeats while it waits for the window, the rate limiter or a bind. */
const HEARTBEAT_EVERY_MS = 5_000;

/**
 * Activities that talk to carriers. The number and body are decrypted just in time inside
 * `submitToCarrier` and never returned, logged or put in an error.
 */
export function createCarrierActivities({
  db,
  vault,
  carriers,
  log,
  breaker = new CircuitBreaker(),
  cipher = new MessageCipher({ vault }),
  metrics,
  residency,
}: {
  db: Pool;
  vault: VaultClient;
  carriers: CarrierDirectory;
  log: Logger;
  breaker?: CircuitBreaker;
  /** Opens the number and body; share the worker's one instance so data keys are cached once. */
  cipher?: MessageCipher;
  metrics?: Metrics;
  /** The worker's region and identity: it decrypts only under its region's transit key. */
  residency?: Residency;
}) {
  /** The body of {@link submitToCarrier} once the circuit breaker admitted it; `settle` reports the carrier's health once. */
  async function submitAdmitted(
    input: SubmitToCarrierInput,
    adapter: CarrierAdapter,
    settle: (outcome: 'success' | 'failure' | 'release') => void,
  ): Promise<SubmitToCarrierResult> {
    const { rows } = await db.query<{
      number_ciphertext: string;
      body_ciphertext: string;
      transit_key: string;
      tenant: string;
      region: string;
      country: string;
      purpose: string;
      segments: number;
      erased_by: string | null;
      acked: Record<string, string>;
    }>(
      `with a as (update messages set attempts = attempts + 1, updated_at = now() where id = $1
                  returning tenant, region, country, purpose, segments, created_at)
       select s.number_ciphertext, s.body_ciphertext, s.transit_key, a.tenant, a.region, a.country, a.purpose, a.segments,
              erasure_stopping($1, a.tenant, s.subscriber_token, a.created_at) as erased_by,
              (select coalesce(json_object_agg(part_index, carrier_message_id), '{}'::json)
                 from dispatch_journal j where j.message_id = $1 and j.carrier = $2) as acked
         from message_secrets s, a where s.message_id = $1`,
      [input.messageId, input.carrier],
    );
    const secrets = rows[0];
    if (!secrets)
      throw ApplicationFailure.nonRetryable(
        'the message has no personal data left to send',
        ErrorType.MESSAGE_PURGED,
      );
    // An erasure of the subject came after the acceptance: never on the wire (nor decrypted).
    if (secrets.erased_by)
      throw ApplicationFailure.nonRetryable(
        'an erasure of the recipient was requested: the message is not sent',
        ErrorType.MESSAGE_ERASED,
      );
    assertRegion(residency, secrets.region);
    if (residency && secrets.transit_key !== transitKeys.data(residency.region))
      throw ApplicationFailure.nonRetryable(
        `ciphertext under another region's key refused by a worker of region ${residency.region}`,
        WRONG_REGION,
      );
    const attempt = Context.current().info.attempt;
    if (attempt > 1) metrics?.retries.inc({ carrier: input.carrier });
    const ackedParts = Object.fromEntries(
      Object.entries(secrets.acked).map(([k, v]) => [Number(k), v]),
    );

    // Every just-in-time decryption is audited: which component, which message, why.
    await appendAudit(db, {
      actor: 'system:worker',
      tenant: secrets.tenant,
      action: 'message.decrypt',
      subject: input.messageId,
      detail: {
        component: 'dispatch',
        reason: 'carrier submit',
        carrier: input.carrier,
        attempt,
        ...(residency ? { worker: residency.identity, region: residency.region } : {}),
      },
    });
    const [to, text] = (
      await cipher.open(secrets.transit_key, [secrets.number_ciphertext, secrets.body_ciphertext])
    ).map((b) => b.toString('utf8'));
    const started = process.hrtime.bigint();
    let acknowledged = false;
    // Waits inside the adapter (window, adaptive rate after throttling, a rebind) must not look like a dead worker.
    const context = Context.current();
    const heartbeat = setInterval(() => context.heartbeat(), HEARTBEAT_EVERY_MS);
    let newlyAcked = 0;
    try {
      const result = await adapter.submit(
        {
          messageId: input.messageId,
          to: to!,
          from: input.sender,
          text: text!,
          registeredDelivery: true,
          validitySeconds: input.validitySeconds,
          notAfter: input.notAfter,
          attempt: Context.current().info.attempt,
          ackedParts,
        },
        {
          onPartAcked: async (index, carrierMessageId) => {
            await db.query(
              `insert into dispatch_journal (message_id, carrier, part_index, carrier_message_id) values ($1, $2, $3, $4)
               on conflict do nothing`,
              [input.messageId, input.carrier, index, carrierMessageId],
            );
            ackedParts[index] = carrierMessageId;
            newlyAcked++;
            context.heartbeat({ acked: index });
          },
        },
      );
      acknowledged = true;
      // A test number never touched the carrier: it says nothing about the carrier's health.
      if (testNumberBehaviour(to!) === undefined) settle('success');
      metrics?.dispatchSeconds.observe(
        { carrier: input.carrier, outcome: 'ok' },
        secondsSince(started),
      );
      metrics?.dispatched.inc({
        carrier: input.carrier,
        country: secrets.country,
        purpose: secrets.purpose,
      });
      await recordSubmitted(db, {
        messageId: input.messageId,
        carrier: input.carrier,
        sender: input.sender,
        detail: `${result.parts} part(s), ${result.encoding}`,
      });
      return result;
    } catch (err) {
      if (!acknowledged)
        metrics?.dispatchSeconds.observe(
          { carrier: input.carrier, outcome: 'error' },
          secondsSince(started),
        );
      if (!isCarrierError(err)) throw err;
      if (carrierFaults.has(err.type) && testNumberBehaviour(to!) === undefined) settle('failure');
      const acked = Object.keys(ackedParts).length;
      if (newlyAcked > 0)
        // A partial send is visible: the message row names the carrier and the parts it holds.
        await recordPartialSubmit(db, {
          messageId: input.messageId,
          carrier: input.carrier,
          sender: input.sender,
          detail: `${acked} of ${secrets.segments} part(s)`,
        });
      if (nonRetryable.has(err.type))
        metrics?.failovers.inc({ carrier: input.carrier, reason: err.type });
      await recordDispatchOutcome(db, {
        messageId: input.messageId,
        carrier: input.carrier,
        sender: input.sender,
        outcome: 'rejected',
        errorType: err.type,
      });
      log.warn(
        {
          messageId: input.messageId,
          carrier: input.carrier,
          errorType: err.type,
          commandStatus: err.commandStatus,
        },
        'carrier submit failed',
      );
      const details: SubmitFailureDetails = {
        commandStatus: err.commandStatus ?? null,
        ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
        ackedParts,
        parts: secrets.segments,
      };
      throw ApplicationFailure.create({
        message: err.message,
        type: err.type,
        nonRetryable: nonRetryable.has(err.type),
        nextRetryDelay: err.retryAfterMs,
        details: [details],
      });
    } finally {
      clearInterval(heartbeat);
    }
  }

  return {
    /**
     * Carriers eligible for a destination country, in failover order; those whose circuit is open on
     * this worker come last (still candidates: the message waits for them rather than failing).
     */
    async routeCarriers({ country }: { country: string }): Promise<{ carriers: string[] }> {
      const all = carriers.eligible(country);
      return {
        carriers: [
          ...all.filter((c) => !breaker.isOpen(c)),
          ...all.filter((c) => breaker.isOpen(c)),
        ],
      };
    },

    /**
     * Submits every part not yet acknowledged (the dispatch journal says which) to one carrier.
     * Each acknowledged part is journaled before the next is sent, so a retry after a crash never
     * resubmits it. Throws an ApplicationFailure typed CARRIER_* (permanent and unavailable are
     * non-retryable: the workflow fails over), MESSAGE_PURGED if the ciphertexts are gone, or
     * MESSAGE_ERASED if an erasure of the recipient was requested after the message was accepted.
     */
    async submitToCarrier(input: SubmitToCarrierInput): Promise<SubmitToCarrierResult> {
      if (input.notAfter !== undefined && Date.now() >= input.notAfter)
        throw ApplicationFailure.nonRetryable(
          'the message validity ended before it could be sent',
          ErrorType.VALIDITY_EXPIRED,
        );
      const adapter = carriers.get(input.carrier);
      if (!adapter)
        throw ApplicationFailure.nonRetryable(
          `carrier ${input.carrier} is not configured on this worker`,
          ErrorType.CARRIER_UNAVAILABLE,
        );
      const admission = breaker.admit(input.carrier);
      if (!admission.admitted) {
        // Nothing was sent and no attempt counted: the workflow waits (or fails over), it does not fail.
        const details: SubmitFailureDetails = {
          commandStatus: null,
          retryAfterMs: admission.retryAfterMs,
          ackedParts: {},
          parts: 0,
        };
        throw ApplicationFailure.create({
          message: `${input.carrier}: circuit open`,
          type: ErrorType.CARRIER_UNAVAILABLE,
          nonRetryable: true,
          details: [details],
        });
      }
      let settled = false;
      const settle = (outcome: 'success' | 'failure' | 'release') => {
        if (settled) return;
        settled = true;
        breaker[outcome](input.carrier, admission.trial);
      };
      try {
        return await submitAdmitted(input, adapter, settle);
      } finally {
        settle('release');
      }
    },
  };
}

export type CarrierActivities = ReturnType<typeof createCarrierActivities>;
