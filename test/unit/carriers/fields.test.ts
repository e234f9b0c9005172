import {
  concatReference,
  formatRelativeValidity,
  fromSmppAddress,
  parseRelativeValidity,
  toSmppAddress,
} from '../../../carriers/smpp/fields';

describe('formatRelativeValidity (SMPP relative time YYMMDDhhmmss000R)', () => {
  it.each([
    [1, '000000000001000R'],
    [59, '000000000059000R'],
    [300, '000000000500000R'],
    [3600, '000000010000000R'],
    [86_400, '000001000000000R'],
    [90_061, '000001010101000R'],
    [31 * 86_400, '000101000000000R'],
    [400 * 86_400, '010105000000000R'],
    [59.9, '000000000059000R'],
  ])('%s s → %s', (seconds, expected) => {
    const value = formatRelativeValidity(seconds);
    expect(value).toBe(expected);
    expect(value).toMatch(/^\d{12}000R$/);
  });

  it('round-trips through parseRelativeValidity', () => {
    for (const s of [1, 61, 3599, 86_399, 172_800, 5_000_000]) {
      expect(parseRelativeValidity(formatRelativeValidity(s))).toBe(s);
    }
    expect(parseRelativeValidity('')).toBeUndefined();
    expect(parseRelativeValidity('240131120000000+')).toBeUndefined();
  });

  it('rejects non-positive, non-finite and absurd values', () => {
    expect(() => formatRelativeValidity(0)).toThrow(RangeError);
    expect(() => formatRelativeValidity(-5)).toThrow(RangeError);
    expect(() => formatRelativeValidity(Number.NaN)).toThrow(RangeError);
    expect(() => formatRelativeValidity(100 * 365 * 86_400)).toThrow(RangeError);
  });
});

describe('SMPP addresses', () => {
  it('maps E.164, short codes and alphanumeric senders', () => {
    expect(toSmppAddress('+4915112345678')).toEqual({ ton: 1, npi: 1, addr: '4915112345678' });
    expect(toSmppAddress('12345')).toEqual({ ton: 0, npi: 1, addr: '12345' });
    expect(toSmppAddress('MyBank')).toEqual({ ton: 5, npi: 0, addr: 'MyBank' });
    expect(fromSmppAddress(1, '4915112345678')).toBe('+4915112345678');
    expect(fromSmppAddress(0, '12345')).toBe('12345');
  });
});

describe('concatReference', () => {
  it('is a deterministic byte that varies with the message id', () => {
    expect(concatReference('msg_01HX')).toBe(concatReference('msg_01HX'));
    const refs = new Set(Array.from({ length: 500 }, (_, i) => concatReference(`msg_${i}`)));
    for (const r of refs) expect(r).toBeGreaterThanOrEqual(0);
    for (const r of refs) expect(r).toBeLessThan(256);
    expect(refs.size).toBeGreaterThan(200);
  });
});
