import type * as smpp from 'smpp';
import { SmppStatus, smppStatusLabel } from '../../errors';
import { attachRawTap } from '../../smpp/raw';
import { flushQueuedReceipts } from './smsc-receipts';
import type { SmscState } from './smsc-state';
import { onSubmit } from './smsc-submit';
import type { BindMode, SimSession, SmscSimulatorOptions } from './smsc-types';

/** The credentials binds must present, when set. */
type Credentials = Pick<SmscSimulatorOptions, 'systemId' | 'password'>;

/** Takes a new client connection: tracks it, ends it once, and answers its PDUs. */
export function acceptSession(
  state: SmscState,
  credentials: Credentials,
  session: smpp.Session,
): void {
  if (state.closing) {
    session.destroy();
    return;
  }
  session.socket.setNoDelay(true);
  const s: SimSession = {
    id: ++state.sessionCounter,
    session,
    tap: attachRawTap(session.socket),
    outstanding: 0,
    pending: new Map(),
    ended: false,
  };
  state.sessions.set(s.id, s);
  const end = (): void => {
    if (s.ended) return;
    s.ended = true;
    state.sessions.delete(s.id);
    for (const resolve of s.pending.values()) resolve(undefined);
    s.pending.clear();
    session.destroy();
    state.log.debug({ session: s.id }, 'session ended');
  };
  session.on('error', (err: NodeJS.ErrnoException) => {
    state.log.debug({ session: s.id, code: err.code }, 'session error');
    end();
  });
  session.on('close', end);
  session.on('pdu', (pdu: smpp.PDU) => onPdu(state, credentials, s, pdu));
}

function onPdu(state: SmscState, credentials: Credentials, s: SimSession, pdu: smpp.PDU): void {
  if (pdu.isResponse()) {
    const resolve = s.pending.get(pdu.sequence_number);
    if (resolve) {
      s.pending.delete(pdu.sequence_number);
      resolve(pdu);
    }
    return;
  }
  switch (pdu.command) {
    case 'bind_transceiver':
      onBind(state, credentials, s, pdu, 'transceiver');
      return;
    case 'bind_transmitter':
      onBind(state, credentials, s, pdu, 'transmitter');
      return;
    case 'bind_receiver':
      onBind(state, credentials, s, pdu, 'receiver');
      return;
    case 'enquire_link':
      state.stats.enquireLinksAnswered++;
      state.send(s, pdu.response());
      return;
    case 'unbind':
      state.send(s, pdu.response());
      s.mode = undefined;
      s.session.close();
      return;
    case 'submit_sm':
      if (!s.mode) {
        state.send(s, pdu.response({ command_status: SmppStatus.ESME_RINVBNDSTS }));
        return;
      }
      onSubmit(state, s, pdu);
      return;
    case 'unknown':
      state.send(s, pdu.response());
      return;
    default:
      try {
        state.send(s, pdu.response({ command_status: SmppStatus.ESME_RINVCMDID }));
      } catch {
        // commands without a response PDU
      }
  }
}

/** Binds a session (once) when its credentials match; a receiver gets its queued receipts. */
function onBind(
  state: SmscState,
  credentials: Credentials,
  s: SimSession,
  pdu: smpp.PDU,
  mode: BindMode,
): void {
  const systemId = typeof pdu.system_id === 'string' ? pdu.system_id : '';
  const password = typeof pdu.password === 'string' ? pdu.password : '';
  let status = 0;
  if (s.mode) status = SmppStatus.ESME_RALYBND;
  else if (credentials.systemId !== undefined && systemId !== credentials.systemId) {
    status = SmppStatus.ESME_RINVSYSID;
  } else if (credentials.password !== undefined && password !== credentials.password) {
    status = SmppStatus.ESME_RINVPASWD;
  }
  if (status) {
    state.log.info({ session: s.id, commandStatus: smppStatusLabel(status) }, 'bind refused');
    state.send(s, pdu.response({ command_status: status }));
    return;
  }
  s.mode = mode;
  s.systemId = systemId;
  state.stats.binds++;
  state.send(s, pdu.response({ system_id: 'SMSCSIM' }));
  state.log.info({ session: s.id, mode }, 'bound');
  if (mode !== 'transmitter') flushQueuedReceipts(state, systemId);
}
