import type { Logger } from 'pino';
import { AdaptiveRate } from '../../domain/adaptive-rate';
import { CarrierError, CarrierErrorType } from '../errors';

/** Options of {@link SubmitWindow}. */
export interface SubmitWindowOptions {
  /** Carrier name, used in {@link CarrierError}s. */
  name: string;
  /** Already a child logger naming the carrier. */
  log: Logger;
  /** Most submit_sm awaiting their response at once; the rest queue. */
  windowSize: number;
  /** How long a queued submit waits for a bind before it fails UNAVAILABLE. */
  connectTimeoutMs: number;
  /** Ceiling of the adaptive send rate, submit_sm per second. */
  maxSubmitsPerSecond: number;
  /** How long one part is retried while the SMSC throttles it; never past `notAfter`. */
  throttleMaxWaitMs: number;
  /** True while the session is bound (slots are handed out only then). */
  isBound(): boolean;
}

interface Waiter {
  resolve(): void;
  reject(err: CarrierError): void;
  timer?: NodeJS.Timeout;
}

/**
 * The flow control of one bind: at most `windowSize` submit_sm in flight across all messages (the
 * rest queue in order), and an adaptive rate that throttling answers lower and accepted submits
 * raise again. Queued submits wait for a bind up to `connectTimeoutMs`, counted from when the bind
 * was lost (or from the queueing when there is none). No I/O: the caller sends.
 */
export class SubmitWindow {
  private closed = false;
  private outstanding = 0;
  private readonly waiters: Waiter[] = [];
  // One rate per bind: throttling is the SMSC telling this bind to slow down, never a failure.
  private readonly rate: AdaptiveRate;

  constructor(private readonly options: SubmitWindowOptions) {
    if (!Number.isInteger(options.windowSize) || options.windowSize < 1) {
      throw new RangeError('windowSize must be a positive integer');
    }
    this.rate = new AdaptiveRate({ maxPerSecond: options.maxSubmitsPerSecond });
  }

  /** Submit_sm currently holding a slot (sent or about to be, awaiting their response). */
  get inFlight(): number {
    return this.outstanding;
  }

  /** Submits queued for a slot. */
  get queued(): number {
    return this.waiters.length;
  }

  /**
   * Runs `send` for one part while holding a slot; while the SMSC throttles it (`send` throws
   * THROTTLED), waits at the lowered rate and runs it again, for up to `throttleMaxWaitMs` and
   * never past `notAfter`.
   */
  async sendThrottled<T>(send: () => Promise<T>, notAfter?: number): Promise<T> {
    const giveUpAt = Math.min(Date.now() + this.options.throttleMaxWaitMs, notAfter ?? Infinity);
    for (;;) {
      const delay = this.rate.reserve(Date.now());
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      try {
        const result = await this.withSlot(send);
        this.rate.accepted();
        return result;
      } catch (err) {
        if (!(err instanceof CarrierError) || err.type !== CarrierErrorType.THROTTLED) throw err;
        this.rate.throttled(Date.now());
        this.options.log.debug(
          { perSecond: Math.round(this.rate.perSecond) },
          'smpp throttled; rate lowered',
        );
        if (this.closed || Date.now() + 1000 / this.rate.perSecond >= giveUpAt) throw err;
      }
    }
  }

  /** The session bound: queued submits stop counting down and take the free slots. */
  onBound(): void {
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      delete w.timer;
    }
    this.pump();
  }

  /** The bind was lost: every queued submit now waits at most `connectTimeoutMs` for the next. */
  onConnectionLost(): void {
    for (const w of this.waiters) this.armDeadline(w);
  }

  /** Rejects every queued submit UNAVAILABLE; later ones are refused at once. */
  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(this.unavailable('adapter closed'));
    }
  }

  private async withSlot<T>(send: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await send();
    } finally {
      this.outstanding--;
      this.pump();
    }
  }

  private acquire(): Promise<void> {
    if (this.closed) return Promise.reject(this.unavailable('adapter closed'));
    const { isBound, windowSize } = this.options;
    if (isBound() && this.outstanding < windowSize && this.waiters.length === 0) {
      this.outstanding++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const w: Waiter = { resolve, reject };
      this.waiters.push(w);
      if (!isBound()) this.armDeadline(w);
    });
  }

  private pump(): void {
    while (this.options.isBound() && this.outstanding < this.options.windowSize) {
      const w = this.waiters.shift();
      if (!w) return;
      clearTimeout(w.timer);
      this.outstanding++;
      w.resolve();
    }
  }

  private armDeadline(w: Waiter): void {
    if (w.timer || this.closed) return;
    const { connectTimeoutMs } = this.options;
    w.timer = setTimeout(() => {
      const i = this.waiters.indexOf(w);
      if (i >= 0) this.waiters.splice(i, 1);
      w.reject(this.unavailable(`not bound within ${connectTimeoutMs} ms`));
    }, connectTimeoutMs);
  }

  private unavailable(why: string): CarrierError {
    return new CarrierError(CarrierErrorType.UNAVAILABLE, this.options.name, why);
  }
}
