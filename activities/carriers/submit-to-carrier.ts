import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import type { Pool } from 'pg';
import { CarrierErrorType, isCarrierError, type CarrierError } from '../../carriers/errors';
import type { CarrierAdapter, SubmitResult } from '../../carriers/types';
import type { MessageCipher } from '../../encryption/message-cipher';
import { appendAudit } from '../../db/audit';
import { testNumberBehaviour } from '../../domain/test-numbers';
import { ErrorType } from '../../domain/error-types';
import { secondsSince, type Metrics } from '../../clients/metrics';
import { recordDispatchOutcome, recordPartialSubmit, recordSubmitted } from '../../db/operations';
import { transitKeys } from '../vault/tokenize-message';
import { assertRegion, WRONG_REGION, type Residency } from '../residency';

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

/** Reports the carrier's health to its circuit breaker, once per admitted submit. */
export type SettleBreaker = (outcome: 'success' | 'failure' | 'release') => void;

/** What {@link submitAdmitted} works with (the carrier activities' clients). */
export interface SubmitDeps {
  db: Pool;
  log: Logger;
  cipher: MessageCipher;
  metrics?: Metrics | undefined;
  residency?: Residency | undefined;
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

/** The sealed message and what the dispatch needs to know about it, read as one attempt starts. */
interface DispatchRow {
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
}

/** One admitted attempt, as the steps below share it. */
interface Attempt {
  input: SubmitToCarrierInput;
  row: DispatchRow;
  /** Parts acknowledged so far by this carrier (journal, then this attempt). */
  ackedParts: Record<number, string>;
  /** Parts acknowledged during this attempt. */
  newlyAcked: number;
}

/**
 * The body of `submitToCarrier` once the circuit breaker admitted it: counts the attempt, checks
 * the message may still be sent here, opens number and body just in time (audited), submits the
 * parts not yet acknowledged and records the outcome. `settle` reports the carrier's health once.
 */
export async function submitAdmitted(
  deps: SubmitDeps,
  input: SubmitToCarrierInput,
  adapter: CarrierAdapter,
  settle: SettleBreaker,
): Promise<SubmitToCarrierResult> {
  const row = await startAttempt(deps, input);
  const attemptNo = Context.current().info.attempt;
  if (attemptNo > 1) deps.metrics?.retries.inc({ carrier: input.carrier });
  const attempt: Attempt = {
    input,
    row,
    ackedParts: Object.fromEntries(Object.entries(row.acked).map(([k, v]) => [Number(k), v])),
    newlyAcked: 0,
  };
  const [to, text] = await openForDispatch(deps, attempt, attemptNo);
  const started = process.hrtime.bigint();
  let acknowledged = false;
  // Waits inside the adapter (window, adaptive rate after throttling, a rebind) must not look like a dead worker.
  const context = Context.current();
  const heartbeat = setInterval(() => context.heartbeat(), HEARTBEAT_EVERY_MS);
  try {
    const result = await submitParts(deps, attempt, adapter, to!, text!);
    acknowledged = true;
    // A test number never touched the carrier: it says nothing about the carrier's health.
    if (testNumberBehaviour(to!) === undefined) settle('success');
    await recordSuccess(deps, attempt, result, started);
    return result;
  } catch (err) {
    if (!acknowledged)
      deps.metrics?.dispatchSeconds.observe(
        { carrier: input.carrier, outcome: 'error' },
        secondsSince(started),
      );
    if (!isCarrierError(err)) throw err;
    if (carrierFaults.has(err.type) && testNumberBehaviour(to!) === undefined) settle('failure');
    throw await recordFailure(deps, attempt, err);
  } finally {
    clearInterval(heartbeat);
  }
}

/**
 * Counts the attempt and reads the sealed message with the parts this carrier already holds;
 * refuses (non-retryable) a message purged, erased since acceptance or of another region.
 */
async function startAttempt(deps: SubmitDeps, input: SubmitToCarrierInput): Promise<DispatchRow> {
  const { db, residency } = deps;
  const { rows } = await db.query<DispatchRow>(
    `with a as (update messages set attempts = attempts + 1, updated_at = now() where id = $1
                returning tenant, region, country, purpose, segments, created_at)
     select s.number_ciphertext, s.body_ciphertext, s.transit_key, a.tenant, a.region, a.country, a.purpose, a.segments,
            erasure_stopping($1, a.tenant, s.subscriber_token, a.created_at) as erased_by,
            (select coalesce(json_object_agg(part_index, carrier_message_id), '{}'::json)
               from dispatch_journal j where j.message_id = $1 and j.carrier = $2) as acked
       from message_secrets s, a where s.message_id = $1`,
    [input.messageId, input.carrier],
  );
  const row = rows[0];
  if (!row)
    throw ApplicationFailure.nonRetryable(
      'the message has no personal data left to send',
      ErrorType.MESSAGE_PURGED,
    );
  // An erasure of the subject came after the acceptance: never on the wire (nor decrypted).
  if (row.erased_by)
    throw ApplicationFailure.nonRetryable(
      'an erasure of the recipient was requested: the message is not sent',
      ErrorType.MESSAGE_ERASED,
    );
  assertRegion(residency, row.region);
  if (residency && row.transit_key !== transitKeys.data(residency.region))
    throw ApplicationFailure.nonRetryable(
      `ciphertext under another region's key refused by a worker of region ${residency.region}`,
      WRONG_REGION,
    );
  return row;
}

/** Audits the just-in-time decryption (which component, which message, why), then opens number and body. */
async function openForDispatch(
  deps: SubmitDeps,
  { input, row }: Attempt,
  attemptNo: number,
): Promise<string[]> {
  const { db, cipher, residency } = deps;
  await appendAudit(db, {
    actor: 'system:worker',
    tenant: row.tenant,
    action: 'message.decrypt',
    subject: input.messageId,
    detail: {
      component: 'dispatch',
      reason: 'carrier submit',
      carrier: input.carrier,
      attempt: attemptNo,
      ...(residency ? { worker: residency.identity, region: residency.region } : {}),
    },
  });
  return (await cipher.open(row.transit_key, [row.number_ciphertext, row.body_ciphertext])).map(
    (b) => b.toString('utf8'),
  );
}

/** Hands the message to the adapter, journaling each acknowledged part before the next is sent. */
function submitParts(
  { db }: SubmitDeps,
  attempt: Attempt,
  adapter: CarrierAdapter,
  to: string,
  text: string,
): Promise<SubmitResult> {
  const { input, ackedParts } = attempt;
  const context = Context.current();
  return adapter.submit(
    {
      messageId: input.messageId,
      to,
      from: input.sender,
      text,
      registeredDelivery: true,
      validitySeconds: input.validitySeconds,
      notAfter: input.notAfter,
      attempt: context.info.attempt,
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
        attempt.newlyAcked++;
        context.heartbeat({ acked: index });
      },
    },
  );
}

/** Metrics and the message row for an accepted submit. */
async function recordSuccess(
  { db, metrics }: SubmitDeps,
  { input, row }: Attempt,
  result: SubmitResult,
  started: bigint,
): Promise<void> {
  metrics?.dispatchSeconds.observe(
    { carrier: input.carrier, outcome: 'ok' },
    secondsSince(started),
  );
  metrics?.dispatched.inc({ carrier: input.carrier, country: row.country, purpose: row.purpose });
  await recordSubmitted(db, {
    messageId: input.messageId,
    carrier: input.carrier,
    sender: input.sender,
    detail: `${result.parts} part(s), ${result.encoding}`,
  });
}

/**
 * Records a refused submit (a partial send visibly, the outcome, a failover metric) and returns
 * the typed ApplicationFailure to throw, carrying {@link SubmitFailureDetails}.
 */
async function recordFailure(
  { db, log, metrics }: SubmitDeps,
  { input, row, ackedParts, newlyAcked }: Attempt,
  err: CarrierError,
): Promise<ApplicationFailure> {
  const acked = Object.keys(ackedParts).length;
  if (newlyAcked > 0)
    // A partial send is visible: the message row names the carrier and the parts it holds.
    await recordPartialSubmit(db, {
      messageId: input.messageId,
      carrier: input.carrier,
      sender: input.sender,
      detail: `${acked} of ${row.segments} part(s)`,
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
    parts: row.segments,
  };
  return ApplicationFailure.create({
    message: err.message,
    type: err.type,
    nonRetryable: nonRetryable.has(err.type),
    nextRetryDelay: err.retryAfterMs,
    details: [details],
  });
}
