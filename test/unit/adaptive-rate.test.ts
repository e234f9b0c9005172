import { AdaptiveRate } from '../../domain/adaptive-rate';

describe('AdaptiveRate', () => {
  test('spaces sends at the ceiling while the carrier accepts them', () => {
    const r = new AdaptiveRate({ maxPerSecond: 100 });
    expect([r.reserve(0), r.reserve(0), r.reserve(0)]).toEqual([0, 10, 20]);
  });

  test('throttling halves the rate down to the floor and pauses one new interval', () => {
    const r = new AdaptiveRate({ maxPerSecond: 100, minPerSecond: 10 });
    r.throttled(0);
    expect(r.perSecond).toBe(50);
    expect(r.reserve(0)).toBe(20);
    r.throttled(0);
    r.throttled(0);
    r.throttled(0);
    expect(r.perSecond).toBe(10);
  });

  test('accepted sends raise the rate back by a hundredth of the ceiling, never above it', () => {
    const r = new AdaptiveRate({ maxPerSecond: 100 });
    r.throttled(0);
    for (let i = 0; i < 10; i++) r.accepted();
    expect(r.perSecond).toBe(60);
    for (let i = 0; i < 100; i++) r.accepted();
    expect(r.perSecond).toBe(100);
  });

  test('a carrier that throttles every third send settles at a steady rate instead of collapsing', () => {
    const r = new AdaptiveRate({ maxPerSecond: 1000 });
    for (let i = 1; i <= 300; i++) {
      if (i % 3 === 0) r.throttled(0);
      else r.accepted();
    }
    expect(r.perSecond).toBeGreaterThanOrEqual(20);
    expect(r.perSecond).toBeLessThan(100);
  });

  test('refuses a ceiling that is not positive', () => {
    expect(() => new AdaptiveRate({ maxPerSecond: 0 })).toThrow(RangeError);
  });
});
