/**
 * An adaptive send rate for one carrier bind (additive increase, multiplicative decrease, as TCP
 * does): a throttling answer halves the rate and pauses the next send by one new interval; every
 * accepted send raises the rate by a hundredth of the ceiling. A carrier that throttles at some
 * rate is thus approached from below and never hammered, and the rate climbs back when it stops.
 * Pure: the caller supplies the clock and does the waiting.
 */
export interface AdaptiveRateOptions {
  /** The ceiling, sends per second (the carrier's contracted throughput). */
  maxPerSecond: number;
  /** The floor, sends per second. Default 1. */
  minPerSecond?: number;
}

export class AdaptiveRate {
  private rate: number;
  private nextAt = 0;
  private readonly max: number;
  private readonly min: number;

  constructor(options: AdaptiveRateOptions) {
    if (!(options.maxPerSecond > 0)) throw new RangeError('maxPerSecond must be positive');
    this.max = options.maxPerSecond;
    this.min = Math.min(options.minPerSecond ?? 1, this.max);
    this.rate = this.max;
  }

  /** Sends per second allowed now. */
  get perSecond(): number {
    return this.rate;
  }

  /** Reserves the next send slot at `now` (epoch ms): how many ms to wait before sending. */
  reserve(now: number): number {
    const slot = Math.max(now, this.nextAt);
    this.nextAt = slot + 1000 / this.rate;
    return slot - now;
  }

  /** The carrier throttled a send at `now`: halve the rate and leave one new interval before the next. */
  throttled(now: number): void {
    this.rate = Math.max(this.min, this.rate / 2);
    this.nextAt = Math.max(this.nextAt, now + 1000 / this.rate);
  }

  /** The carrier accepted a send: raise the rate a little. */
  accepted(): void {
    this.rate = Math.min(this.max, this.rate + this.max / 100);
  }
}
