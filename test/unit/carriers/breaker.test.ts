import { CircuitBreaker } from '../../../activities/carriers/breaker';

/** A breaker on a clock the test moves: threshold 3, open 10 s, 2 half-open trials. */
function breaker() {
  let now = 1_000_000;
  const b = new CircuitBreaker(3, 10_000, 2, () => now);
  return { b, advance: (ms: number) => (now += ms) };
}

describe('CircuitBreaker', () => {
  test('opens after `threshold` consecutive faults and tells a refused submit how long to wait', () => {
    const { b, advance } = breaker();
    for (let i = 0; i < 3; i++) {
      expect(b.admit('a')).toEqual({ admitted: true, trial: false });
      b.failure('a');
    }
    expect(b.isOpen('a')).toBe(true);
    expect(b.admit('a')).toEqual({ admitted: false, retryAfterMs: 10_000 });
    advance(4_000);
    expect(b.admit('a')).toEqual({ admitted: false, retryAfterMs: 6_000 });
    expect(b.admit('b')).toEqual({ admitted: true, trial: false });
  });

  test('a success in between resets the count', () => {
    const { b } = breaker();
    b.failure('a');
    b.failure('a');
    b.success('a');
    b.failure('a');
    b.failure('a');
    expect(b.isOpen('a')).toBe(false);
  });

  test('half-open admits a bounded number of concurrent trials; the rest wait, none is refused for good', () => {
    const { b, advance } = breaker();
    for (let i = 0; i < 3; i++) b.failure('a');
    advance(10_000);
    expect(b.admit('a')).toEqual({ admitted: true, trial: true });
    expect(b.admit('a')).toEqual({ admitted: true, trial: true });
    const third = b.admit('a');
    expect(third.admitted).toBe(false);
    expect(third.admitted === false && third.retryAfterMs).toBeGreaterThan(0);
    // A trial that said nothing about the carrier frees its place.
    b.release('a', true);
    expect(b.admit('a')).toEqual({ admitted: true, trial: true });
    // One successful trial closes the circuit for everyone.
    b.success('a');
    expect(b.admit('a')).toEqual({ admitted: true, trial: false });
  });

  test('a failed trial opens the circuit again for the full period', () => {
    const { b, advance } = breaker();
    for (let i = 0; i < 3; i++) b.failure('a');
    advance(10_000);
    expect(b.admit('a')).toEqual({ admitted: true, trial: true });
    b.failure('a', true);
    expect(b.admit('a')).toEqual({ admitted: false, retryAfterMs: 10_000 });
  });

  test('faults of submits admitted before it opened do not extend the open period', () => {
    const { b, advance } = breaker();
    for (let i = 0; i < 3; i++) b.failure('a');
    advance(5_000);
    b.failure('a');
    expect(b.admit('a')).toEqual({ admitted: false, retryAfterMs: 5_000 });
  });
});
