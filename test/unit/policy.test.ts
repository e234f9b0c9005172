import {
  billingMonth,
  checkPrice,
  evaluateCountryRule,
  fromMicros,
  quote,
  resolveUnitPrice,
  toMicros,
  windowStart,
  type PriceRow,
} from '../../domain/policy';
import { eligibleCarriers } from '../../domain/routing';

describe('country rules', () => {
  test('no rule allows, block blocks, monitor passes as monitor', () => {
    expect(evaluateCountryRule(undefined, 'GB', 'otp')).toEqual({
      kind: 'allowed',
      action: 'allow',
    });
    expect(
      evaluateCountryRule({ country: 'NG', action: 'block', overLimit: 'refuse' }, 'NG', 'otp'),
    ).toEqual({ kind: 'blocked', country: 'NG' });
    expect(
      evaluateCountryRule(
        { country: 'NG', action: 'block', otpPerWindow: 5, overLimit: 'hold' },
        'NG',
        'transactional',
      ),
    ).toEqual({ kind: 'blocked', country: 'NG' });
    expect(
      evaluateCountryRule({ country: 'FR', action: 'monitor', overLimit: 'refuse' }, 'FR', 'otp'),
    ).toEqual({ kind: 'allowed', action: 'monitor', velocity: undefined });
  });

  test('the velocity limit applies to OTPs only, with its over-limit mode', () => {
    const rule = { country: 'GB', action: 'allow', otpPerWindow: 3, overLimit: 'hold' } as const;
    expect(evaluateCountryRule(rule, 'GB', 'otp')).toEqual({
      kind: 'allowed',
      action: 'allow',
      velocity: { limit: 3, overLimit: 'hold' },
    });
    expect(evaluateCountryRule(rule, 'GB', 'marketing')).toEqual({
      kind: 'allowed',
      action: 'allow',
      velocity: undefined,
    });
  });

  test('velocity windows are aligned and step by their length', () => {
    const minute = 60_000;
    const t = Date.UTC(2026, 10, 25, 16, 30, 42, 500);
    expect(windowStart(t, minute)).toBe(Date.UTC(2026, 10, 25, 16, 30));
    expect(windowStart(t, minute, 2)).toBe(Date.UTC(2026, 10, 25, 16, 32));
    expect(windowStart(Date.UTC(2026, 10, 25, 16, 31), minute)).toBe(
      Date.UTC(2026, 10, 25, 16, 31),
    );
  });
});

describe('prices', () => {
  const rows: PriceRow[] = [
    { tenant: '*', carrier: 'a', country: '*', perSegment: toMicros(0.05) },
    { tenant: '*', carrier: 'a', country: 'GB', perSegment: toMicros(0.03) },
    { tenant: 'acme', carrier: 'a', country: '*', perSegment: toMicros(0.04) },
    { tenant: 'acme', carrier: 'a', country: 'DE', perSegment: toMicros(0.02) },
    { tenant: '*', carrier: 'b', country: 'GB', perSegment: toMicros(0.01) },
  ];

  test('the most specific row wins: tenant+country, tenant, platform+country, platform', () => {
    expect(resolveUnitPrice(rows, 'acme', 'a', 'DE')).toBe(20_000);
    expect(resolveUnitPrice(rows, 'acme', 'a', 'GB')).toBe(40_000);
    expect(resolveUnitPrice(rows, 'other', 'a', 'GB')).toBe(30_000);
    expect(resolveUnitPrice(rows, 'other', 'a', 'FR')).toBe(50_000);
    expect(resolveUnitPrice(rows, 'other', 'b', 'FR')).toBeUndefined();
    expect(resolveUnitPrice(rows, 'other', 'c', 'GB')).toBeUndefined();
  });

  test('a message is quoted on its primary route: segments x price per segment', () => {
    expect(quote(rows, 'other', ['a', 'b'], 'GB', 3)).toEqual({
      carrier: 'a',
      perSegment: 30_000,
      price: 90_000,
    });
    expect(quote(rows, 'other', ['b', 'a'], 'GB', 2)).toEqual({
      carrier: 'b',
      perSegment: 10_000,
      price: 20_000,
    });
    expect(quote(rows, 'other', ['b'], 'FR', 2)).toEqual({
      carrier: 'b',
      perSegment: undefined,
      price: undefined,
    });
    expect(quote(rows, 'other', [], 'GB', 1)).toEqual({});
  });

  test('micro-units keep sums exact', () => {
    expect(toMicros('0.070000')).toBe(70_000);
    expect(toMicros(0.1) + toMicros(0.2)).toBe(toMicros(0.3));
    expect(fromMicros(toMicros(12.345678))).toBe(12.345678);
  });
});

describe('price checks', () => {
  test('maxPrice: equal passes, above is refused', () => {
    expect(checkPrice({ price: 70_000, maxPrice: 70_000, spent: 0 })).toBeUndefined();
    expect(checkPrice({ price: 70_001, maxPrice: 70_000, spent: 0 })).toEqual({
      kind: 'max_price_exceeded',
      price: 70_001,
      maxPrice: 70_000,
    });
  });

  test('the cap: reaching it exactly passes, crossing it is refused', () => {
    expect(checkPrice({ price: 50, cap: 100, spent: 50 })).toBeUndefined();
    expect(checkPrice({ price: 51, cap: 100, spent: 50 })).toEqual({
      kind: 'spend_cap_exceeded',
      spent: 50,
      price: 51,
      cap: 100,
    });
    expect(checkPrice({ price: 1, cap: 0, spent: 0 })?.kind).toBe('spend_cap_exceeded');
  });

  test('an unknown price is refused only when a cap or maxPrice must be honoured', () => {
    expect(checkPrice({ price: undefined, spent: 0 })).toBeUndefined();
    expect(checkPrice({ price: undefined, cap: 100, spent: 0 })).toEqual({ kind: 'price_unknown' });
    expect(checkPrice({ price: undefined, maxPrice: 100, spent: 0 })).toEqual({
      kind: 'price_unknown',
    });
  });

  test('the billing month is the UTC month', () => {
    expect(billingMonth(Date.UTC(2026, 0, 31, 23, 59, 59))).toBe('2026-01-01');
    expect(billingMonth(Date.UTC(2026, 11, 1))).toBe('2026-12-01');
  });
});

describe('routing', () => {
  test('eligible carriers: serving the country, by priority, stable among equals', () => {
    const carriers = [
      { name: 'x', priority: 20, countries: [] },
      { name: 'y', priority: 10, countries: ['GB'] },
      { name: 'z', priority: 20, countries: ['DE', 'GB'] },
    ];
    expect(eligibleCarriers(carriers, 'GB')).toEqual(['y', 'x', 'z']);
    expect(eligibleCarriers(carriers, 'DE')).toEqual(['x', 'z']);
    expect(eligibleCarriers(carriers, 'FR')).toEqual(['x']);
  });
});
