import * as smpp from 'smpp';
import type { Logger } from 'pino';
import { splitForSmpp } from '../../domain/encoding';
import { remainingValiditySeconds } from '../../domain/scheduling';
import { CarrierError, CarrierErrorType, classifySmppStatus, smppStatusLabel } from '../errors';
import type { SubmitHooks, SubmitRequest, SubmitResult } from '../types';
import { concatReference, formatRelativeValidity, toSmppAddress } from './fields';
import { RequestError, type SmppSession } from './session';
import type { SubmitWindow } from './window';

/** What {@link submitMessage} sends through. */
export interface SubmitDeps {
  /** Carrier name, used in {@link CarrierError}s. */
  name: string;
  /** Already a child logger naming the carrier. */
  log: Logger;
  session: SmppSession;
  window: SubmitWindow;
  /** Per submit_sm wait for its response before failing TRANSIENT. */
  submitTimeoutMs: number;
  /** retryAfterMs suggested with THROTTLED errors (SMPP carries no delay). */
  throttleRetryAfterMs: number;
}

type SubmitFields = Record<string, unknown>;

/**
 * Submits one message: splits the text with domain/encoding (`splitForSmpp`, reference derived
 * from the message id) and sends the parts not yet acknowledged in order, each after the previous
 * one's submit_sm_resp, through the window. Throws {@link CarrierError}: PERMANENT when the text or
 * the PDU cannot be built, UNAVAILABLE when not bound, TRANSIENT on timeout or connection loss
 * (outcome unknown), VALIDITY_EXPIRED past `notAfter`, otherwise {@link classifySmppStatus}.
 */
export async function submitMessage(
  deps: SubmitDeps,
  req: SubmitRequest,
  hooks?: SubmitHooks,
): Promise<SubmitResult> {
  const { name, log, window } = deps;
  let split: ReturnType<typeof splitForSmpp>;
  let validity = '';
  try {
    split = splitForSmpp(req.text, concatReference(req.messageId));
    if (req.validitySeconds !== undefined) {
      validity = formatRelativeValidity(req.validitySeconds);
    }
  } catch (err) {
    // RangeError messages from domain/encoding name counts only, never content.
    throw new CarrierError(CarrierErrorType.PERMANENT, name, (err as Error).message);
  }
  const source = toSmppAddress(req.from);
  const destination = toSmppAddress(req.to);
  const ids: string[] = [];
  for (const [index, shortMessage] of split.parts.entries()) {
    const acked = req.ackedParts?.[index];
    if (acked !== undefined) {
      ids.push(acked);
      continue;
    }
    const fields: SubmitFields = {
      source_addr_ton: source.ton,
      source_addr_npi: source.npi,
      source_addr: source.addr,
      dest_addr_ton: destination.ton,
      dest_addr_npi: destination.npi,
      destination_addr: destination.addr,
      esm_class: split.esmClass,
      registered_delivery: req.registeredDelivery ? 1 : 0,
      validity_period: validity,
      data_coding: split.dataCoding,
      short_message: shortMessage,
    };
    const carrierMessageId = await window.sendThrottled(
      () => submitPart(deps, fields, req.notAfter),
      req.notAfter,
    );
    ids.push(carrierMessageId);
    log.debug({ messageId: req.messageId, part: index, carrierMessageId }, 'smpp part acked');
    await hooks?.onPartAcked?.(index, carrierMessageId);
  }
  log.info(
    { messageId: req.messageId, parts: split.parts.length, encoding: split.encoding },
    'smpp message submitted',
  );
  return { carrierMessageIds: ids, parts: split.parts.length, encoding: split.encoding };
}

/** Sends one submit_sm (holding a window slot) and returns the carrier's message id. */
async function submitPart(
  deps: SubmitDeps,
  fields: SubmitFields,
  notAfter: number | undefined,
): Promise<string> {
  const { name, log, session, submitTimeoutMs, throttleRetryAfterMs } = deps;
  if (!session.bound) throw unavailable(name, 'not bound');
  if (notAfter !== undefined) {
    // Never late: checked after the window wait, right before the part goes on the wire.
    const now = Date.now();
    if (now >= notAfter)
      throw new CarrierError(CarrierErrorType.VALIDITY_EXPIRED, name, 'validity ended');
    fields = {
      ...fields,
      validity_period: formatRelativeValidity(remainingValiditySeconds(notAfter, now)),
    };
  }
  let pdu: smpp.PDU;
  try {
    pdu = new smpp.PDU('submit_sm', fields);
  } catch {
    throw new CarrierError(CarrierErrorType.PERMANENT, name, 'submit_sm could not be built');
  }
  let resp: smpp.PDU;
  try {
    resp = await session.request(pdu, submitTimeoutMs);
  } catch (err) {
    throw requestFailed(name, err, submitTimeoutMs);
  }
  const status = resp.command_status;
  if (status !== 0) {
    const type = classifySmppStatus(status);
    throw new CarrierError(type, name, `submit_sm refused with ${smppStatusLabel(status)}`, {
      commandStatus: status,
      ...(type === CarrierErrorType.THROTTLED ? { retryAfterMs: throttleRetryAfterMs } : {}),
    });
  }
  const messageId = typeof resp.message_id === 'string' ? resp.message_id : '';
  if (!messageId) log.warn('smpp submit_sm_resp without message_id');
  return messageId;
}

/** A submit_sm without a response: UNAVAILABLE when it was not written, else TRANSIENT (outcome unknown). */
function requestFailed(name: string, err: unknown, submitTimeoutMs: number): CarrierError {
  const kind = err instanceof RequestError ? err.kind : 'not-sent';
  if (kind === 'not-sent') return unavailable(name, 'connection not writable');
  if (kind === 'timeout') {
    return new CarrierError(
      CarrierErrorType.TRANSIENT,
      name,
      `no submit_sm_resp within ${submitTimeoutMs} ms`,
    );
  }
  return new CarrierError(
    CarrierErrorType.TRANSIENT,
    name,
    'connection lost before submit_sm_resp',
  );
}

function unavailable(name: string, why: string): CarrierError {
  return new CarrierError(CarrierErrorType.UNAVAILABLE, name, why);
}
