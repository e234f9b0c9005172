import { randomBytes } from 'node:crypto';
import type * as smpp from 'smpp';
import type { Logger } from 'pino';
import { SmppStatus } from '../../errors';
import { later, mulberry32 } from '../simulator-support';
import type {
  PendingReceipt,
  ReceivedPart,
  SimSession,
  SmscBehaviour,
  SmscSimulatorOptions,
  SmscStats,
} from './smsc-types';

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

const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Everything one simulated SMSC holds (behaviour, sessions, received parts, queued receipts,
 * counters, timers) and the small operations every unit of it uses: timers that `close()` can
 * clear, sending, requests that resolve `undefined` instead of failing, and picking a receiver.
 */
export class SmscState {
  behaviour: SmscBehaviour;
  readonly log: Logger;
  /** Seeded: drives `transientErrorRate`, message ids and MO references. */
  readonly rng: () => number;
  readonly received: ReceivedPart[] = [];
  readonly sessions = new Map<number, SimSession>();
  readonly timers = new Set<NodeJS.Timeout>();
  readonly queuedReceipts: PendingReceipt[] = [];
  readonly stats = {
    binds: 0,
    submits: 0,
    maxOutstanding: 0,
    enquireLinksAnswered: 0,
    receiptsSent: 0,
    receiptsAcked: 0,
    moSent: 0,
  };
  sessionCounter = 0;
  /** Submits counted for `throttleEvery` (reset when it is set). */
  throttleCounter = 0;
  closing = false;
  private readonly idPrefix: string;
  private idCounter = 0;
  private moRoundRobin = 0;

  constructor(options: SmscSimulatorOptions) {
    this.log = options.log.child({ component: 'smsc-simulator' });
    this.behaviour = { ...DEFAULT_BEHAVIOUR, ...options.rules, ...options.behaviour };
    this.rng = mulberry32(options.seed ?? randomBytes(4).readUInt32BE(0));
    this.idPrefix = Math.floor(this.rng() * 0xffff)
      .toString(16)
      .padStart(4, '0');
  }

  /** The next message_id for an accepted part. */
  nextMessageId(): string {
    return `${this.idPrefix}${(++this.idCounter).toString(16).padStart(8, '0')}`;
  }

  /** Runs `fn` after `ms` unless the simulator closes first. */
  later(ms: number, fn: () => void): void {
    later(this.timers, ms, fn);
  }

  send(s: SimSession, pdu: smpp.PDU): boolean {
    return !s.ended && s.session.send(pdu);
  }

  /** Sends a request PDU; resolves with its response, or undefined when unsent, unanswered or ended. */
  request(
    s: SimSession,
    pdu: smpp.PDU,
    timeoutMs = REQUEST_TIMEOUT_MS,
  ): Promise<smpp.PDU | undefined> {
    return new Promise((resolve) => {
      if (!this.send(s, pdu)) {
        resolve(undefined);
        return;
      }
      const seq = pdu.sequence_number;
      const t = setTimeout(() => {
        this.timers.delete(t);
        s.pending.delete(seq);
        resolve(undefined);
      }, timeoutMs);
      this.timers.add(t);
      s.pending.set(seq, (resp) => {
        clearTimeout(t);
        this.timers.delete(t);
        resolve(resp);
      });
    });
  }

  /** The preferred session if it can still receive, else the next receiver (round robin). */
  pickReceiver(systemId?: string, preferred?: number): SimSession | undefined {
    const p = preferred === undefined ? undefined : this.sessions.get(preferred);
    if (p && canReceive(p)) return p;
    const candidates = [...this.sessions.values()].filter(
      (s) => canReceive(s) && (systemId === undefined || s.systemId === systemId),
    );
    if (candidates.length === 0) return undefined;
    return candidates[this.moRoundRobin++ % candidates.length];
  }

  snapshotStats(): SmscStats {
    const sessions = [...this.sessions.values()];
    return {
      ...this.stats,
      boundSessions: sessions.filter((s) => s.mode !== undefined).length,
      outstanding: sessions.reduce((n, s) => n + s.outstanding, 0),
    };
  }
}

export const canReceive = (s: SimSession): boolean =>
  !s.ended && (s.mode === 'transceiver' || s.mode === 'receiver');

export const canTransmit = (s: SimSession): boolean =>
  !s.ended && (s.mode === 'transceiver' || s.mode === 'transmitter');
