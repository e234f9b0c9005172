import { AuthFailureLimiter } from '../../api/plugins/auth-failures';
import { HttpProblem } from '../../api/plugins/problem';

describe('AuthFailureLimiter: failed authentications per address, in fixed windows', () => {
  let now = 1_000_000;
  const limiter = () => new AuthFailureLimiter({ max: 3, windowMs: 60_000, now: () => now });

  test('refuses an address with 429 and Retry-After once it reaches the limit, others unaffected', () => {
    const l = limiter();
    for (let i = 0; i < 3; i++) {
      expect(() => l.check('203.0.113.1')).not.toThrow();
      l.fail('203.0.113.1');
    }
    let refusal: unknown;
    try {
      l.check('203.0.113.1');
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(HttpProblem);
    expect(refusal).toMatchObject({ status: 429, headers: { 'retry-after': '60' } });
    expect(() => l.check('203.0.113.2')).not.toThrow();
    now += 59_500;
    expect(l.retryAfterSeconds('203.0.113.1')).toBe(1);
    // The window ends: the address may try again, and counts from zero.
    now += 500;
    expect(l.retryAfterSeconds('203.0.113.1')).toBe(0);
    l.fail('203.0.113.1');
    expect(() => l.check('203.0.113.1')).not.toThrow();
  });

  test('keeps at most maxAddresses windows, dropping ended then oldest ones', () => {
    const l = new AuthFailureLimiter({ max: 1, windowMs: 1_000, maxAddresses: 2, now: () => now });
    l.fail('a');
    l.fail('b');
    l.fail('c'); // over the bound: 'a' (the oldest) is forgotten
    expect(l.retryAfterSeconds('a')).toBe(0);
    expect(l.retryAfterSeconds('b')).toBe(1);
    expect(l.retryAfterSeconds('c')).toBe(1);
  });
});
