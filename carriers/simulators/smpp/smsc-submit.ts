import type * as smpp from 'smpp';
import { decodeSmppPart, type DecodedPart } from '../../../domain/encoding';
import { SmppStatus, smppStatusLabel } from '../../errors';
import { CommandId, EsmClass, fromSmppAddress } from '../../smpp/fields';
import { parseRawSm, type RawSm } from '../../smpp/raw';
import { scheduleReceipt } from './smsc-receipts';
import { canTransmit, type SmscState } from './smsc-state';
import type { ReceivedPart, SimSession } from './smsc-types';

/**
 * Answers one submit_sm per the current behaviour: records the part (also when refused), then
 * after `latencyMs` answers it (never, with `noSubmitResponse`) and schedules its receipt.
 */
export function onSubmit(state: SmscState, s: SimSession, pdu: smpp.PDU): void {
  state.stats.submits++;
  const body = s.tap.take(CommandId.SUBMIT_SM, pdu.sequence_number);
  const answer = (status: number, messageId = ''): void => {
    state.send(
      s,
      status ? pdu.response({ command_status: status }) : pdu.response({ message_id: messageId }),
    );
  };
  if (!canTransmit(s)) {
    answer(SmppStatus.ESME_RINVBNDSTS);
    return;
  }
  let sm: RawSm;
  try {
    if (!body) throw new RangeError('submit_sm octets not captured');
    sm = parseRawSm(body);
  } catch {
    answer(SmppStatus.ESME_RSYSERR);
    return;
  }
  const b = state.behaviour;
  const { decoded, status } = decideStatus(state, sm);
  const messageId = status === 0 ? state.nextMessageId() : '';
  const part = recordPart(state, s, sm, decoded, status, messageId);

  s.outstanding++;
  state.stats.maxOutstanding = Math.max(state.stats.maxOutstanding, s.outstanding);
  if (b.noSubmitResponse) return; // stays outstanding until the session ends
  state.later(b.latencyMs, () => {
    s.outstanding--;
    if (s.ended) return;
    answer(status, messageId);
    state.log.debug(
      { session: s.id, messageId, commandStatus: smppStatusLabel(status) },
      'submit_sm answered',
    );
    if (status === 0) {
      scheduleReceipt(state, s, part, {
        srcTon: sm.sourceAddrTon,
        srcNpi: sm.sourceAddrNpi,
        src: sm.sourceAddr,
        dstTon: sm.destAddrTon,
        dstNpi: sm.destAddrNpi,
        dst: sm.destinationAddr,
      });
    }
  });
}

/**
 * The command_status a submit gets: an undecodable part is refused for its length or data_coding;
 * then throttling, a permanent error for the destination, or a random transient error, in that order.
 */
function decideStatus(
  state: SmscState,
  sm: RawSm,
): { decoded: DecodedPart | undefined; status: number } {
  const b = state.behaviour;
  const destination = fromSmppAddress(sm.destAddrTon, sm.destinationAddr);
  let decoded: DecodedPart | undefined;
  let status: number = SmppStatus.ESME_ROK;
  try {
    decoded = decodeSmppPart(sm.shortMessage, sm.dataCoding, (sm.esmClass & EsmClass.UDHI) !== 0);
  } catch {
    status = [0, 1, 3, 8].includes(sm.dataCoding)
      ? SmppStatus.ESME_RINVMSGLEN
      : SmppStatus.ESME_RINVDCS;
  }
  if (status === 0) {
    state.throttleCounter++;
    if (b.throttle || (b.throttleEvery > 0 && state.throttleCounter % b.throttleEvery === 0))
      status = SmppStatus.ESME_RTHROTTLED;
    else if (b.permanentErrorFor(destination)) status = SmppStatus.ESME_RINVDSTADR;
    else if (b.transientErrorRate > 0 && state.rng() < b.transientErrorRate) {
      const choices = b.transientErrorStatuses;
      status = choices[Math.floor(state.rng() * choices.length)] ?? SmppStatus.ESME_RSYSERR;
    }
  }
  return { decoded, status };
}

/** Keeps the part as received, for the tests' assertions. */
function recordPart(
  state: SmscState,
  s: SimSession,
  sm: RawSm,
  decoded: DecodedPart | undefined,
  status: number,
  messageId: string,
): ReceivedPart {
  const part: ReceivedPart = {
    messageId,
    commandStatus: status,
    sessionId: s.id,
    source: fromSmppAddress(sm.sourceAddrTon, sm.sourceAddr),
    destination: fromSmppAddress(sm.destAddrTon, sm.destinationAddr),
    dataCoding: sm.dataCoding,
    esmClass: sm.esmClass,
    registeredDelivery: sm.registeredDelivery,
    validityPeriod: sm.validityPeriod,
    shortMessage: sm.shortMessage,
    text: decoded?.text ?? '',
    receivedAt: Date.now(),
  };
  if (decoded?.udh) part.udh = decoded.udh;
  state.received.push(part);
  return part;
}
