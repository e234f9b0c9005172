/**
 * A per-carrier circuit breaker, local to one worker process: after `threshold` consecutive failures
 * the carrier is skipped for `openMs`, then one trial submit decides (half-open). Each worker learns
 * on its own; that is enough to stop hammering a dead carrier and needs no shared state.
 */
export class CircuitBreaker {
  private readonly state = new Map<
    string,
    { failures: number; openUntil: number; trial: boolean }
  >();

  constructor(
    private readonly threshold = 5,
    private readonly openMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when a submit to `carrier` may go ahead now (closed, or the single half-open trial). */
  allow(carrier: string): boolean {
    const s = this.state.get(carrier);
    if (!s || s.failures < this.threshold) return true;
    if (this.now() < s.openUntil) return false;
    if (s.trial) return false;
    s.trial = true;
    return true;
  }

  success(carrier: string): void {
    this.state.delete(carrier);
  }

  failure(carrier: string): void {
    const s = this.state.get(carrier) ?? { failures: 0, openUntil: 0, trial: false };
    s.failures++;
    s.trial = false;
    if (s.failures >= this.threshold) s.openUntil = this.now() + this.openMs;
    this.state.set(carrier, s);
  }

  isOpen(carrier: string): boolean {
    const s = this.state.get(carrier);
    return !!s && s.failures >= this.threshold && this.now() < s.openUntil;
  }
}
