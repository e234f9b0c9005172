import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhook } from '../../../domain/webhook-signature';
import { later, mulberry32 } from '../simulator-support';
import type {
  HttpCarrierBehaviour,
  HttpCarrierSimulatorOptions,
  HttpCarrierStats,
  HttpReceivedSubmit,
} from './carrier-types';

const DEFAULT_BEHAVIOUR: HttpCarrierBehaviour = {
  latencyMs: 0,
  throttle: false,
  retryAfterSeconds: 1,
  unavailable: false,
  transientErrorRate: 0,
  permanentErrorFor: () => false,
  receiptDelayMs: 50,
  receiptOutcome: () => 'delivered',
  dropReceipts: false,
};

const RECEIPT_ATTEMPTS = 3;

/**
 * Everything one simulated HTTP carrier holds (behaviour, received submits, idempotency keys,
 * counters, timers, receipts in flight) and its signed receipt delivery (3 attempts).
 */
export class HttpCarrierState {
  behaviour: HttpCarrierBehaviour;
  readonly log: Logger;
  /** Seeded: drives `transientErrorRate` and ids. */
  readonly rng: () => number;
  readonly received: HttpReceivedSubmit[] = [];
  readonly byIdempotencyKey = new Map<string, string>();
  readonly timers = new Set<NodeJS.Timeout>();
  readonly aborter = new AbortController();
  readonly inFlight = new Set<Promise<void>>();
  readonly stats: HttpCarrierStats = {
    submits: 0,
    receiptsSent: 0,
    receiptsAcked: 0,
    receiptsFailed: 0,
  };
  closing = false;

  constructor(private readonly options: HttpCarrierSimulatorOptions) {
    this.log = options.log.child({ component: 'http-carrier-simulator' });
    this.behaviour = { ...DEFAULT_BEHAVIOUR, ...options.behaviour };
    this.rng = mulberry32(options.seed ?? randomBytes(4).readUInt32BE(0));
  }

  /** Runs `fn` after `ms` unless the simulator closes first. */
  later(ms: number, fn: () => void): void {
    later(this.timers, ms, fn);
  }

  /** A new 16-hex-digit message id. */
  newId(): string {
    return Array.from({ length: 4 }, () =>
      Math.floor(this.rng() * 0x10000)
        .toString(16)
        .padStart(4, '0'),
    ).join('');
  }

  /** After `receiptDelayMs`, posts the receipt of an accepted submit to its callback (or the default URL). */
  scheduleReceipt(id: string, to: string, callbackUrl: string | undefined): void {
    const url = callbackUrl ?? this.options.receiptUrl;
    if (!url || this.behaviour.dropReceipts) return;
    this.later(this.behaviour.receiptDelayMs, () => {
      const status = this.behaviour.receiptOutcome(to);
      const receipt: Record<string, unknown> = { id, status, doneAt: new Date().toISOString() };
      if (status !== 'delivered' && status !== 'accepted') receipt.errorCode = '001';
      this.sendReceipt(url, receipt, 1);
    });
  }

  private sendReceipt(url: string, receipt: Record<string, unknown>, attempt: number): void {
    if (this.closing) return;
    const p = this.postReceipt(url, receipt, attempt).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async postReceipt(
    url: string,
    receipt: Record<string, unknown>,
    attempt: number,
  ): Promise<void> {
    const body = JSON.stringify(receipt);
    const timestamp = Math.floor(Date.now() / 1000);
    this.stats.receiptsSent++;
    let ok = false;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signWebhook(this.options.webhookSecret, timestamp, body),
          [TIMESTAMP_HEADER]: String(timestamp),
        },
        body,
        signal: AbortSignal.any([this.aborter.signal, AbortSignal.timeout(5_000)]),
      });
      await res.arrayBuffer().catch(() => undefined);
      ok = res.ok;
      this.log.debug({ id: receipt.id, status: res.status, attempt }, 'receipt posted');
    } catch (err) {
      this.log.debug({ id: receipt.id, err: (err as Error).name, attempt }, 'receipt post failed');
    }
    if (ok) {
      this.stats.receiptsAcked++;
    } else if (!this.closing && attempt < RECEIPT_ATTEMPTS) {
      this.later(200 * attempt, () => this.sendReceipt(url, receipt, attempt + 1));
    } else {
      this.stats.receiptsFailed++;
    }
  }
}
