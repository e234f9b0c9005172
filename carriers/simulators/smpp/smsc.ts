import type { AddressInfo } from 'node:net';
import * as smpp from 'smpp';
import { splitForSmpp } from '../../../domain/encoding';
import { smppStatusLabel } from '../../errors';
import { toSmppAddress } from '../../smpp/fields';
import { joinMessages } from './smsc-messages';
import { acceptSession } from './smsc-sessions';
import { SmscState } from './smsc-state';
import type { SmscSimulator, SmscSimulatorOptions } from './smsc-types';

export type {
  ReceiptStat,
  ReceivedPart,
  SimulatedMessage,
  SmscBehaviour,
  SmscSimulator,
  SmscSimulatorOptions,
  SmscStats,
} from './smsc-types';

/**
 * Starts a simulated SMSC (SMPP 3.4 server) for tests and local development.
 *
 * Accepts bind_transceiver/transmitter/receiver (several at once), answers enquire_link and
 * unbind, answers submit_sm per {@link SmscBehaviour}, records every part in memory, and sends
 * delivery receipts (esm_class 0x04, receipted_message_id and message_state TLVs, and the
 * `id:… stat:…` text) to the submitting session — or, if it is gone, to the next bind of the
 * same system_id. It logs ids, counts and command_status only, never numbers or text.
 * The units: smsc-sessions.ts (binds and PDUs), smsc-submit.ts, smsc-receipts.ts,
 * smsc-messages.ts, over the shared smsc-state.ts.
 */
export async function startSmscSimulator(options: SmscSimulatorOptions): Promise<SmscSimulator> {
  const host = options.host ?? '127.0.0.1';
  const state = new SmscState(options);
  const credentials = {
    ...(options.systemId !== undefined ? { systemId: options.systemId } : {}),
    ...(options.password !== undefined ? { password: options.password } : {}),
  };
  const server = smpp.createServer(
    options.tls ? { cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' } : {},
    (session) => acceptSession(state, credentials, session),
  );
  await listen(server, options.port ?? 0, host);
  server.on('error', (err: unknown) => {
    state.log.error({ code: (err as NodeJS.ErrnoException).code }, 'smsc simulator server error');
  });
  const port = (server.address() as AddressInfo).port;
  state.log.info({ port, tls: Boolean(options.tls) }, 'smsc simulator listening');
  return simulatorControls(state, server, host, port);
}

function listen(server: smpp.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Sends a deliver_sm to one bound receiver; resolves with its command_status. */
async function deliverSm(state: SmscState, fields: Record<string, unknown>): Promise<number> {
  const target = state.pickReceiver();
  if (!target) throw new Error('no bound receiver session');
  const resp = await state.request(target, new smpp.PDU('deliver_sm', fields));
  if (!resp) throw new Error('deliver_sm not answered');
  return resp.command_status;
}

/** Splits and encodes an MO like a handset would and sends it part by part. */
async function sendMo(
  state: SmscState,
  { from, to, text }: { from: string; to: string; text: string },
): Promise<number> {
  const split = splitForSmpp(text, Math.floor(state.rng() * 256));
  const src = toSmppAddress(from);
  const dst = toSmppAddress(to);
  let status = 0;
  for (const part of split.parts) {
    status = await deliverSm(state, {
      source_addr_ton: src.ton,
      source_addr_npi: src.npi,
      source_addr: src.addr,
      dest_addr_ton: dst.ton,
      dest_addr_npi: dst.npi,
      destination_addr: dst.addr,
      esm_class: split.esmClass,
      data_coding: split.dataCoding,
      short_message: part,
    });
    state.stats.moSent++;
    if (status !== 0) break;
  }
  state.log.debug({ parts: split.parts.length, commandStatus: smppStatusLabel(status) }, 'MO sent');
  return status;
}

/** What a test or the dev stack does with a running simulator. */
function simulatorControls(
  state: SmscState,
  server: smpp.Server,
  host: string,
  port: number,
): SmscSimulator {
  const { log } = state;
  return {
    port,
    host,
    received: state.received,
    messages: () => joinMessages(state.received),
    setBehaviour(patch) {
      if (patch.throttleEvery !== undefined) state.throttleCounter = 0;
      state.behaviour = { ...state.behaviour, ...patch };
    },
    stats: () => state.snapshotStats(),
    sendMo: (mo) => sendMo(state, mo),
    sendDeliverSm: (fields) => deliverSm(state, fields),
    async enquireLinkAll(timeoutMs = 2_000) {
      const bound = [...state.sessions.values()].filter((s) => s.mode !== undefined && !s.ended);
      const answers = await Promise.all(
        bound.map((s) => state.request(s, new smpp.PDU('enquire_link'), timeoutMs)),
      );
      return answers.filter((a) => a !== undefined && a.command === 'enquire_link_resp').length;
    },
    async suspend() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of [...state.sessions.values()]) s.session.destroy();
      await closed;
      log.info({ port }, 'smsc simulator suspended');
    },
    async resume() {
      await listen(server, port, host);
      log.info({ port }, 'smsc simulator resumed');
    },
    async close() {
      state.closing = true;
      for (const t of state.timers) clearTimeout(t);
      state.timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of [...state.sessions.values()]) {
        s.ended = true;
        for (const resolve of s.pending.values()) resolve(undefined);
        s.session.destroy();
      }
      state.sessions.clear();
      await closed;
      log.info({ port }, 'smsc simulator closed');
    },
  };
}
