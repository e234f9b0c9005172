import { HttpProblem } from './problem';

export interface AuthFailureLimits {
  /** Failed authentications one address may make per window before it is refused with 429. */
  max: number;
  windowMs: number;
  /** Addresses tracked at once; past it the oldest windows are forgotten first. Default 100 000. */
  maxAddresses?: number;
  now?: () => number;
}

/**
 * Failed authentications per client address (unknown, revoked or expired API keys, expired
 * sessions, certificates of no key), in fixed windows. Once an address has `max` failures in its
 * window, {@link check} refuses it with 429 (problem+json, `Retry-After` until the window ends)
 * BEFORE its credential is looked up, so guessing keys costs the database nothing past the limit.
 *
 * Counted in this process's memory: N API processes allow up to N times `max` per address, and a
 * restart forgets the counts. Successful authentications are not counted. Behind a proxy the address
 * is the client's only with `TRUST_PROXY` set (config), else every client shares the proxy's.
 */
export class AuthFailureLimiter {
  private readonly windows = new Map<string, { failures: number; endsAt: number }>();
  private readonly now: () => number;
  private readonly maxAddresses: number;

  constructor(private readonly limits: AuthFailureLimits) {
    this.now = limits.now ?? Date.now;
    this.maxAddresses = limits.maxAddresses ?? 100_000;
  }

  /** Seconds until `ip` may try again, or 0 while it is under the limit. */
  retryAfterSeconds(ip: string): number {
    const w = this.windows.get(ip);
    const now = this.now();
    if (!w || w.endsAt <= now || w.failures < this.limits.max) return 0;
    return Math.max(1, Math.ceil((w.endsAt - now) / 1000));
  }

  /** Throws 429 problem+json with `Retry-After` when `ip` is over the limit. */
  check(ip: string): void {
    const retryAfter = this.retryAfterSeconds(ip);
    if (retryAfter === 0) return;
    throw new HttpProblem(
      429,
      'Too many failed authentications',
      `too many failed authentications from this address; retry after ${retryAfter} s`,
      undefined,
      { 'retry-after': String(retryAfter) },
    );
  }

  /** Counts one failed authentication from `ip`. */
  fail(ip: string): void {
    const now = this.now();
    let w = this.windows.get(ip);
    if (!w || w.endsAt <= now) {
      this.windows.delete(ip);
      if (this.windows.size >= this.maxAddresses) this.prune(now);
      w = { failures: 0, endsAt: now + this.limits.windowMs };
      this.windows.set(ip, w);
    }
    w.failures++;
  }

  /** Drops ended windows, then (Maps keep insertion order) the oldest ones until there is room. */
  private prune(now: number): void {
    for (const [ip, w] of this.windows) if (w.endsAt <= now) this.windows.delete(ip);
    for (const ip of this.windows.keys()) {
      if (this.windows.size < this.maxAddresses) break;
      this.windows.delete(ip);
    }
  }
}
