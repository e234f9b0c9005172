import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import * as smpp from 'smpp';
import type { Logger } from 'pino';
import {
  decodeSmppPart,
  reassemble,
  splitForSmpp,
  type ConcatInfo,
  type DecodedPart,
} from '../../../domain/encoding';
import { SmppMessageState, SmppStatus, smppStatusLabel } from '../../errors';
import { CommandId, EsmClass, fromSmppAddress, toSmppAddress } from '../../smpp/fields';
import { attachRawTap, parseRawSm, type RawTap } from '../../smpp/raw';
import { mulberry32 } from '../simulator-support';

/** Final states the simulator can report in a receipt's `stat:` field. */
export type ReceiptStat =
  'DELIVRD' | 'UNDELIV' | 'EXPIRED' | 'REJECTD' | 'UNKNOWN' | 'DELETED' | 'ACCEPTD';

/** How the simulated SMSC answers; change it at run time with `setBehaviour`. */
export interface SmscBehaviour {
  /** Delay before each submit_sm_resp. Default 0. */
  latencyMs: number;
  /** Share (0–1) of submits answered with one of `transientErrorStatuses` at random. Default 0. */
  transientErrorRate: number;
  /** Statuses drawn by `transientErrorRate`. Default ESME_RSYSERR and ESME_RTHROTTLED. */
  transientErrorStatuses: readonly number[];
  /** Destinations answered ESME_RINVDSTADR. Default none. */
  permanentErrorFor: (destination: string) => boolean;
  /** Answer every submit ESME_RTHROTTLED. Default false. */
  throttle: boolean;
  /** Answer every n-th submit (counted from when it is set) ESME_RTHROTTLED; 0 = never. Default 0. */
  throttleEvery: number;
  /** Never answer submit_sm (to exercise client timeouts). Default false. */
  noSubmitResponse: boolean;
  /** Delay between submit_sm_resp and the receipt. Default 50 ms. */
  receiptDelayMs: number;
  /** Receipt outcome per destination. Default DELIVRD. */
  receiptOutcome: (destination: string) => ReceiptStat;
  /** The `err:` code of a receipt that is not DELIVRD/ACCEPTD, per destination. Default `001`. */
  receiptErrorCode: (destination: string) => string;
  /** Send no receipts at all. Default false. */
  dropReceipts: boolean;
}

/** Options of {@link startSmscSimulator}. */
export interface SmscSimulatorOptions {
  /** TCP port; 0 (default) picks an ephemeral one, see `SmscSimulator.port`. */
  port?: number;
  host?: string;
  /** Serve SMPP over TLS with this PEM certificate and key (plain TCP when unset). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  log: Logger;
  /** When set, binds must present this system_id … */
  systemId?: string;
  /** … and this password. */
  password?: string;
  /** Initial behaviour (also accepted as `rules`). */
  behaviour?: Partial<SmscBehaviour>;
  rules?: Partial<SmscBehaviour>;
  /** Seed of the RNG behind `transientErrorRate` and message ids, for reproducible runs. */
  seed?: number;
}

/** One submit_sm as the simulator received it (plaintext: test/dev use only). */
export interface ReceivedPart {
  /** The message_id the simulator assigned ('' when it refused the part). */
  messageId: string;
  /** command_status it answered (0 = accepted). */
  commandStatus: number;
  sessionId: number;
  /** Addresses as E.164 (`+` restored for international TON) or as sent. */
  source: string;
  destination: string;
  dataCoding: number;
  esmClass: number;
  registeredDelivery: number;
  validityPeriod: string;
  shortMessage: Buffer;
  /** Decoded text of this part ('' when undecodable). */
  text: string;
  udh?: ConcatInfo;
  receivedAt: number;
}

/** Accepted parts joined back into messages. */
export interface SimulatedMessage {
  source: string;
  destination: string;
  text: string;
  encoding: 'GSM7' | 'UCS2';
  dataCoding: number;
  parts: number;
  messageIds: string[];
  /** Concatenation reference, for multi-part messages. */
  ref?: number;
  /** False while parts are missing (then `text` joins only what arrived). */
  complete: boolean;
}

/** Counters for assertions. */
export interface SmscStats {
  binds: number;
  boundSessions: number;
  submits: number;
  /** Submits received and not yet answered, now and at most (per session). */
  outstanding: number;
  maxOutstanding: number;
  enquireLinksAnswered: number;
  receiptsSent: number;
  receiptsAcked: number;
  moSent: number;
}

/** A running simulated SMSC, see {@link startSmscSimulator}. */
export interface SmscSimulator {
  readonly port: number;
  readonly host: string;
  readonly received: ReceivedPart[];
  messages(): SimulatedMessage[];
  setBehaviour(patch: Partial<SmscBehaviour>): void;
  stats(): SmscStats;
  /**
   * Sends a mobile-originated message (split and encoded like a handset would: GSM7 or UCS2,
   * concatenated when long) to one bound receiver session (round robin). Resolves with the
   * command_status of the last deliver_sm_resp; rejects when no session is bound.
   */
  sendMo(mo: { from: string; to: string; text: string }): Promise<number>;
  /** Sends an arbitrary deliver_sm (smpp PDU fields) to one bound receiver session. */
  sendDeliverSm(fields: Record<string, unknown>): Promise<number>;
  /** Sends enquire_link on every bound session; resolves with how many were answered. */
  enquireLinkAll(timeoutMs?: number): Promise<number>;
  /**
   * An outage: stops listening and drops every session (their sockets closed, as when the SMSC's
   * host goes away), keeping what it stores (received parts, receipts not yet delivered) for
   * {@link resume}. New connections are refused meanwhile.
   */
  suspend(): Promise<void>;
  /** Ends an outage: listens again on the same port; queued receipts go to the next binds. */
  resume(): Promise<void>;
  /** Stops listening, drops every session and timer. */
  close(): Promise<void>;
}

type BindMode = 'transceiver' | 'transmitter' | 'receiver';

interface SimSession {
  id: number;
  session: smpp.Session;
  tap: RawTap;
  mode?: BindMode;
  systemId?: string;
  outstanding: number;
  pending: Map<number, (pdu: smpp.PDU | undefined) => void>;
  ended: boolean;
}

interface PendingReceipt {
  systemId: string | undefined;
  preferredSession: number;
  fields: Record<string, unknown>;
  attempts: number;
}

const DEFAULT_BEHAVIOUR: SmscBehaviour = {
  latencyMs: 0,
  transientErrorRate: 0,
  transientErrorStatuses: [SmppStatus.ESME_RSYSERR, SmppStatus.ESME_RTHROTTLED],
  permanentErrorFor: () => false,
  throttle: false,
  throttleEvery: 0,
  noSubmitResponse: false,
  receiptDelayMs: 50,
  receiptOutcome: () => 'DELIVRD',
  receiptErrorCode: () => '001',
  dropReceipts: false,
};

const STAT_STATE: Record<ReceiptStat, number> = {
  DELIVRD: SmppMessageState.DELIVERED,
  UNDELIV: SmppMessageState.UNDELIVERABLE,
  EXPIRED: SmppMessageState.EXPIRED,
  REJECTD: SmppMessageState.REJECTED,
  UNKNOWN: SmppMessageState.UNKNOWN,
  DELETED: SmppMessageState.DELETED,
  ACCEPTD: SmppMessageState.ACCEPTED,
};

function smppDate(d: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return (
    two(d.getUTCFullYear() % 100) +
    two(d.getUTCMonth() + 1) +
    two(d.getUTCDate()) +
    two(d.getUTCHours()) +
    two(d.getUTCMinutes())
  );
}

const REQUEST_TIMEOUT_MS = 10_000;
const RECEIPT_RETRIES = 3;

/**
 * Starts a simulated SMSC (SMPP 3.4 server) for tests and local development.
 *
 * Accepts bind_transceiver/transmitter/receiver (several at once), answers enquire_link and
 * unbind, answers submit_sm per {@link SmscBehaviour}, records every part in memory, and sends
 * delivery receipts (esm_class 0x04, receipted_message_id and message_state TLVs, and the
 * `id:… stat:…` text) to the submitting session — or, if it is gone, to the next bind of the
 * same system_id. It logs ids, counts and command_status only, never numbers or text.
 */
export async function startSmscSimulator(options: SmscSimulatorOptions): Promise<SmscSimulator> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log.child({ component: 'smsc-simulator' });
  let behaviour: SmscBehaviour = {
    ...DEFAULT_BEHAVIOUR,
    ...options.rules,
    ...options.behaviour,
  };
  const rng = mulberry32(options.seed ?? randomBytes(4).readUInt32BE(0));
  const idPrefix = Math.floor(rng() * 0xffff)
    .toString(16)
    .padStart(4, '0');
  let idCounter = 0;
  let sessionCounter = 0;
  let moRoundRobin = 0;
  let throttleCounter = 0;
  let closing = false;
  const received: ReceivedPart[] = [];
  const sessions = new Map<number, SimSession>();
  const timers = new Set<NodeJS.Timeout>();
  const queuedReceipts: PendingReceipt[] = [];
  const stats = {
    binds: 0,
    submits: 0,
    maxOutstanding: 0,
    enquireLinksAnswered: 0,
    receiptsSent: 0,
    receiptsAcked: 0,
    moSent: 0,
  };

  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const send = (s: SimSession, pdu: smpp.PDU): boolean => !s.ended && s.session.send(pdu);

  function request(
    s: SimSession,
    pdu: smpp.PDU,
    timeoutMs = REQUEST_TIMEOUT_MS,
  ): Promise<smpp.PDU | undefined> {
    return new Promise((resolve) => {
      if (!send(s, pdu)) {
        resolve(undefined);
        return;
      }
      const seq = pdu.sequence_number;
      const t = setTimeout(() => {
        timers.delete(t);
        s.pending.delete(seq);
        resolve(undefined);
      }, timeoutMs);
      timers.add(t);
      s.pending.set(seq, (resp) => {
        clearTimeout(t);
        timers.delete(t);
        resolve(resp);
      });
    });
  }

  const canReceive = (s: SimSession): boolean =>
    !s.ended && (s.mode === 'transceiver' || s.mode === 'receiver');
  const canTransmit = (s: SimSession): boolean =>
    !s.ended && (s.mode === 'transceiver' || s.mode === 'transmitter');

  function pickReceiver(systemId?: string, preferred?: number): SimSession | undefined {
    const p = preferred === undefined ? undefined : sessions.get(preferred);
    if (p && canReceive(p)) return p;
    const candidates = [...sessions.values()].filter(
      (s) => canReceive(s) && (systemId === undefined || s.systemId === systemId),
    );
    if (candidates.length === 0) return undefined;
    return candidates[moRoundRobin++ % candidates.length];
  }

  // ---- receipts ----

  function deliverReceipt(r: PendingReceipt): void {
    if (closing) return;
    const target = pickReceiver(r.systemId, r.preferredSession);
    if (!target) {
      queuedReceipts.push(r);
      return;
    }
    r.attempts++;
    stats.receiptsSent++;
    void request(target, new smpp.PDU('deliver_sm', r.fields)).then((resp) => {
      if (closing) return;
      if (resp && resp.command_status === 0) {
        stats.receiptsAcked++;
        return;
      }
      log.info(
        {
          commandStatus: resp ? smppStatusLabel(resp.command_status) : 'timeout',
          attempts: r.attempts,
        },
        'receipt not acknowledged',
      );
      if (r.attempts < RECEIPT_RETRIES) later(200, () => deliverReceipt(r));
    });
  }

  function scheduleReceipt(
    s: SimSession,
    part: ReceivedPart,
    raw: {
      srcTon: number;
      srcNpi: number;
      src: string;
      dstTon: number;
      dstNpi: number;
      dst: string;
    },
  ): void {
    const b = behaviour;
    if (b.dropReceipts || (part.registeredDelivery & 0x03) === 0) return;
    const submitDate = smppDate(new Date(part.receivedAt));
    later(b.receiptDelayMs, () => {
      const stat = behaviour.receiptOutcome(part.destination);
      const err =
        stat === 'DELIVRD' || stat === 'ACCEPTD'
          ? '000'
          : behaviour.receiptErrorCode(part.destination);
      const dlvrd = stat === 'DELIVRD' ? '001' : '000';
      const text =
        `id:${part.messageId} sub:001 dlvrd:${dlvrd} submit date:${submitDate} ` +
        `done date:${smppDate(new Date())} stat:${stat} err:${err} text:`;
      deliverReceipt({
        systemId: s.systemId,
        preferredSession: s.id,
        attempts: 0,
        fields: {
          source_addr_ton: raw.dstTon,
          source_addr_npi: raw.dstNpi,
          source_addr: raw.dst,
          dest_addr_ton: raw.srcTon,
          dest_addr_npi: raw.srcNpi,
          destination_addr: raw.src,
          esm_class: EsmClass.DELIVERY_RECEIPT,
          data_coding: 0,
          short_message: Buffer.from(text, 'latin1'),
          receipted_message_id: part.messageId,
          message_state: STAT_STATE[stat],
        },
      });
    });
  }

  // ---- submit_sm ----

  function onSubmit(s: SimSession, pdu: smpp.PDU): void {
    stats.submits++;
    const body = s.tap.take(CommandId.SUBMIT_SM, pdu.sequence_number);
    const answer = (status: number, messageId = ''): void => {
      send(
        s,
        status ? pdu.response({ command_status: status }) : pdu.response({ message_id: messageId }),
      );
    };
    if (!canTransmit(s)) {
      answer(SmppStatus.ESME_RINVBNDSTS);
      return;
    }
    let sm: ReturnType<typeof parseRawSm>;
    try {
      if (!body) throw new RangeError('submit_sm octets not captured');
      sm = parseRawSm(body);
    } catch {
      answer(SmppStatus.ESME_RSYSERR);
      return;
    }
    const b = behaviour;
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
      throttleCounter++;
      if (b.throttle || (b.throttleEvery > 0 && throttleCounter % b.throttleEvery === 0))
        status = SmppStatus.ESME_RTHROTTLED;
      else if (b.permanentErrorFor(destination)) status = SmppStatus.ESME_RINVDSTADR;
      else if (b.transientErrorRate > 0 && rng() < b.transientErrorRate) {
        const choices = b.transientErrorStatuses;
        status = choices[Math.floor(rng() * choices.length)] ?? SmppStatus.ESME_RSYSERR;
      }
    }
    const messageId =
      status === 0 ? `${idPrefix}${(++idCounter).toString(16).padStart(8, '0')}` : '';
    const part: ReceivedPart = {
      messageId,
      commandStatus: status,
      sessionId: s.id,
      source: fromSmppAddress(sm.sourceAddrTon, sm.sourceAddr),
      destination,
      dataCoding: sm.dataCoding,
      esmClass: sm.esmClass,
      registeredDelivery: sm.registeredDelivery,
      validityPeriod: sm.validityPeriod,
      shortMessage: sm.shortMessage,
      text: decoded?.text ?? '',
      receivedAt: Date.now(),
    };
    if (decoded?.udh) part.udh = decoded.udh;
    received.push(part);

    s.outstanding++;
    stats.maxOutstanding = Math.max(stats.maxOutstanding, s.outstanding);
    if (b.noSubmitResponse) return; // stays outstanding until the session ends
    later(b.latencyMs, () => {
      s.outstanding--;
      if (s.ended) return;
      answer(status, messageId);
      log.debug(
        { session: s.id, messageId, commandStatus: smppStatusLabel(status) },
        'submit_sm answered',
      );
      if (status === 0) {
        scheduleReceipt(s, part, {
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

  // ---- sessions ----

  function onBind(s: SimSession, pdu: smpp.PDU, mode: BindMode): void {
    const systemId = typeof pdu.system_id === 'string' ? pdu.system_id : '';
    const password = typeof pdu.password === 'string' ? pdu.password : '';
    let status = 0;
    if (s.mode) status = SmppStatus.ESME_RALYBND;
    else if (options.systemId !== undefined && systemId !== options.systemId) {
      status = SmppStatus.ESME_RINVSYSID;
    } else if (options.password !== undefined && password !== options.password) {
      status = SmppStatus.ESME_RINVPASWD;
    }
    if (status) {
      log.info({ session: s.id, commandStatus: smppStatusLabel(status) }, 'bind refused');
      send(s, pdu.response({ command_status: status }));
      return;
    }
    s.mode = mode;
    s.systemId = systemId;
    stats.binds++;
    send(s, pdu.response({ system_id: 'SMSCSIM' }));
    log.info({ session: s.id, mode }, 'bound');
    if (mode !== 'transmitter') {
      const mine = queuedReceipts.filter((r) => r.systemId === systemId);
      for (const r of mine) {
        queuedReceipts.splice(queuedReceipts.indexOf(r), 1);
        deliverReceipt(r);
      }
    }
  }

  function onSession(session: smpp.Session): void {
    if (closing) {
      session.destroy();
      return;
    }
    session.socket.setNoDelay(true);
    const s: SimSession = {
      id: ++sessionCounter,
      session,
      tap: attachRawTap(session.socket),
      outstanding: 0,
      pending: new Map(),
      ended: false,
    };
    sessions.set(s.id, s);
    const end = (): void => {
      if (s.ended) return;
      s.ended = true;
      sessions.delete(s.id);
      for (const resolve of s.pending.values()) resolve(undefined);
      s.pending.clear();
      session.destroy();
      log.debug({ session: s.id }, 'session ended');
    };
    session.on('error', (err: NodeJS.ErrnoException) => {
      log.debug({ session: s.id, code: err.code }, 'session error');
      end();
    });
    session.on('close', end);
    session.on('pdu', (pdu: smpp.PDU) => {
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
          onBind(s, pdu, 'transceiver');
          return;
        case 'bind_transmitter':
          onBind(s, pdu, 'transmitter');
          return;
        case 'bind_receiver':
          onBind(s, pdu, 'receiver');
          return;
        case 'enquire_link':
          stats.enquireLinksAnswered++;
          send(s, pdu.response());
          return;
        case 'unbind':
          send(s, pdu.response());
          s.mode = undefined;
          session.close();
          return;
        case 'submit_sm':
          if (!s.mode) {
            send(s, pdu.response({ command_status: SmppStatus.ESME_RINVBNDSTS }));
            return;
          }
          onSubmit(s, pdu);
          return;
        case 'unknown':
          send(s, pdu.response());
          return;
        default:
          try {
            send(s, pdu.response({ command_status: SmppStatus.ESME_RINVCMDID }));
          } catch {
            // commands without a response PDU
          }
      }
    });
  }

  const server = smpp.createServer(
    options.tls ? { cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' } : {},
    onSession,
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err: unknown) => {
    log.error({ code: (err as NodeJS.ErrnoException).code }, 'smsc simulator server error');
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port, tls: Boolean(options.tls) }, 'smsc simulator listening');

  async function deliverSm(fields: Record<string, unknown>): Promise<number> {
    const target = pickReceiver();
    if (!target) throw new Error('no bound receiver session');
    const resp = await request(target, new smpp.PDU('deliver_sm', fields));
    if (!resp) throw new Error('deliver_sm not answered');
    return resp.command_status;
  }

  function messages(): SimulatedMessage[] {
    interface Group {
      parts: ReceivedPart[];
      total: number;
      key?: string;
    }
    const groups: Group[] = [];
    const open = new Map<string, Group>();
    for (const part of received) {
      if (part.commandStatus !== 0) continue;
      const udh = part.udh;
      if (!udh || udh.total <= 1) {
        groups.push({ parts: [part], total: 1 });
        continue;
      }
      const key = `${part.source}\u0000${part.destination}\u0000${udh.ref}\u0000${udh.total}`;
      let g = open.get(key);
      if (!g || g.parts.length >= g.total || g.parts.some((p) => p.udh?.seq === udh.seq)) {
        g = { parts: [], total: udh.total, key };
        open.set(key, g);
        groups.push(g);
      }
      g.parts.push(part);
    }
    return groups.map((g) => {
      const ordered = [...g.parts].sort((a, b) => (a.udh?.seq ?? 0) - (b.udh?.seq ?? 0));
      const first = ordered[0] as ReceivedPart;
      const complete = ordered.length === g.total;
      const decoded: DecodedPart[] = ordered.map((p) =>
        p.udh ? { text: p.text, udh: p.udh } : { text: p.text },
      );
      const msg: SimulatedMessage = {
        source: first.source,
        destination: first.destination,
        text: complete ? reassemble(decoded) : ordered.map((p) => p.text).join(''),
        encoding: first.dataCoding === 8 ? 'UCS2' : 'GSM7',
        dataCoding: first.dataCoding,
        parts: ordered.length,
        messageIds: ordered.map((p) => p.messageId),
        complete,
      };
      if (first.udh) msg.ref = first.udh.ref;
      return msg;
    });
  }

  return {
    port,
    host,
    received,
    messages,
    setBehaviour(patch) {
      if (patch.throttleEvery !== undefined) throttleCounter = 0;
      behaviour = { ...behaviour, ...patch };
    },
    stats() {
      return {
        ...stats,
        boundSessions: [...sessions.values()].filter((s) => s.mode !== undefined).length,
        outstanding: [...sessions.values()].reduce((n, s) => n + s.outstanding, 0),
      };
    },
    async sendMo({ from, to, text }) {
      const split = splitForSmpp(text, Math.floor(rng() * 256));
      const src = toSmppAddress(from);
      const dst = toSmppAddress(to);
      let status = 0;
      for (const part of split.parts) {
        status = await deliverSm({
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
        stats.moSent++;
        if (status !== 0) break;
      }
      log.debug({ parts: split.parts.length, commandStatus: smppStatusLabel(status) }, 'MO sent');
      return status;
    },
    sendDeliverSm: deliverSm,
    async enquireLinkAll(timeoutMs = 2_000) {
      const bound = [...sessions.values()].filter((s) => s.mode !== undefined && !s.ended);
      const answers = await Promise.all(
        bound.map((s) => request(s, new smpp.PDU('enquire_link'), timeoutMs)),
      );
      return answers.filter((a) => a !== undefined && a.command === 'enquire_link_resp').length;
    },
    async suspend() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of [...sessions.values()]) s.session.destroy();
      await closed;
      log.info({ port }, 'smsc simulator suspended');
    },
    async resume() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      log.info({ port }, 'smsc simulator resumed');
    },
    async close() {
      closing = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of [...sessions.values()]) {
        s.ended = true;
        for (const resolve of s.pending.values()) resolve(undefined);
        s.session.destroy();
      }
      sessions.clear();
      await closed;
      log.info({ port }, 'smsc simulator closed');
    },
  };
}
