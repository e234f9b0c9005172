/** What {@link CircuitBreaker.admit} decided for one submit. */
export type Admission =
  | {
      admitted: true;
      /** A half-open trial: its outcome decides whether the circuit closes or opens again. */
      trial: boolean;
    }
  | {
      admitted: false;
      /** When the circuit may admit again (the message should wait that long, not fail). */
      retryAfterMs: number;
    };

interface CarrierState {
  failures: number;
  /** Epoch ms until which the circuit is open (0: closed). */
  openUntil: number;
  /** Half-open trials admitted and not yet settled. */
  trials: number;
}

/**
 * A per-carrier circuit breaker, local to one worker process. It protects the carrier, never fails a
 * message: a refused submit is told how long to wait (`retryAfterMs`) and the workflow retries later
 * within the message's validity (or fails over to another carrier).
 *
 * - closed: every submit goes; `threshold` consecutive carrier faults (unreachable, timeouts, system
 *   errors — not throttling, not answers about the message) open it;
 * - open for `openMs`: nothing goes;
 * - half-open: at most `halfOpenTrials` submits at once go as trials, the rest wait; one success
 *   closes the circuit, a failed trial opens it again.
 *
 * Each worker learns on its own; that is enough to stop hammering a dead carrier and needs no shared
 * state. Every admitted submit must be settled once: `success`, `failure` or `release` (an outcome
 * that says nothing about the carrier's health).
 */
export class CircuitBreaker {
  private readonly state = new Map<string, CarrierState>();

  constructor(
    private readonly threshold = 5,
    private readonly openMs = 30_000,
    private readonly halfOpenTrials = 3,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a submit to `carrier` may go now (and as a trial), or how long it should wait. */
  admit(carrier: string): Admission {
    const s = this.state.get(carrier);
    if (!s || s.openUntil === 0) return { admitted: true, trial: false };
    const now = this.now();
    if (now < s.openUntil) return { admitted: false, retryAfterMs: s.openUntil - now };
    if (s.trials >= this.halfOpenTrials)
      // The trials in flight decide soon (a submit times out in seconds): look again shortly.
      return { admitted: false, retryAfterMs: Math.min(this.openMs, 1_000) };
    s.trials++;
    return { admitted: true, trial: true };
  }

  /** The carrier accepted a submit: the circuit closes. */
  success(carrier: string): void {
    this.state.delete(carrier);
  }

  /** A carrier fault (unreachable, timeout, system error): counts towards opening; a failed trial reopens. */
  failure(carrier: string, trial = false): void {
    const s = this.state.get(carrier) ?? { failures: 0, openUntil: 0, trials: 0 };
    if (trial) s.trials = Math.max(0, s.trials - 1);
    s.failures++;
    if (trial || (s.openUntil === 0 && s.failures >= this.threshold))
      s.openUntil = this.now() + this.openMs;
    this.state.set(carrier, s);
  }

  /** An admitted submit ended with an outcome that says nothing about the carrier (throttled, refused message, our own error). */
  release(carrier: string, trial = false): void {
    const s = this.state.get(carrier);
    if (trial && s) s.trials = Math.max(0, s.trials - 1);
  }

  /** True while the circuit is open and admits nothing (the workers' routing puts such carriers last). */
  isOpen(carrier: string): boolean {
    const s = this.state.get(carrier);
    return !!s && s.openUntil !== 0 && this.now() < s.openUntil;
  }
}
