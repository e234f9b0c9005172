import { lastTwo, normalizeRecipient, redactNumber } from '../../domain/phone';

describe('normalizeRecipient', () => {
  it.each([
    ['+86 138 0013 8000', '+8613800138000', 'CN', '86'],
    ['+8613800138000', '+8613800138000', 'CN', '86'],
    ['+44 7400 123456', '+447400123456', 'GB', '44'],
    ['+49 151 23456789', '+4915123456789', 'DE', '49'],
    ['+33 6 12 34 56 78', '+33612345678', 'FR', '33'],
    ['+1 201 555 0123', '+12015550123', 'US', '1'],
    ['+1 (201) 555-0123', '+12015550123', 'US', '1'],
    ['+81 90-1234-5678', '+819012345678', 'JP', '81'],
    ['  +91 98765 43210 ', '+919876543210', 'IN', '91'],
  ])('accepts the mobile number %j', (raw, e164, country, callingCode) => {
    expect(normalizeRecipient(raw)).toEqual({ ok: true, e164, country, callingCode });
  });

  it.each([
    ['a London landline', '+44 20 7946 0000'],
    ['a Paris landline', '+33 1 42 68 53 00'],
    ['a US toll-free number', '+1 800 555 0123'],
    ['a non-geographic freephone number', '+800 1234 5678'],
  ])('refuses %s as not_mobile', (_name, raw) => {
    expect(normalizeRecipient(raw)).toEqual({ ok: false, reason: 'not_mobile' });
  });

  it.each([
    ['garbage', 'hello'],
    ['an empty string', ''],
    ['a bare plus', '+'],
    ['a national number without +', '07400 123456'],
    ['an international number without +', '447400123456'],
    ['the 00 prefix', '00447400123456'],
    ['a number inside text', 'call +44 7400 123456'],
    ['an extension', '+44 7400 123456 ext 12'],
    ['a digit too many', '+44 7400 1234567'],
    ['a CN mobile missing digits', '+86 138 0013 800'],
    ['an unassigned calling code', '+999 1234 5678'],
    ['a full-width plus', '＋44 7400 123456'],
    ['an absurdly long input', `+44 7400 123456${' '.repeat(40)}0`],
  ])('refuses %s as invalid', (_name, raw) => {
    expect(normalizeRecipient(raw)).toEqual({ ok: false, reason: 'invalid' });
  });
});

describe('redactNumber', () => {
  it('keeps only the calling code and the last two digits', () => {
    expect(redactNumber('+8613800138000')).toBe('+86•••••••••00');
    expect(redactNumber('+447400123456')).toBe('+44••••••••56');
    expect(redactNumber('+12015550123')).toBe('+1••••••••23');
    expect(redactNumber('+4915123456789')).toBe('+49•••••••••89');
  });

  it('never shows more than three digits of the subscriber part', () => {
    const redacted = redactNumber('+8613800138000');
    expect(redacted.replace(/\D/g, '')).toBe('8600');
    expect(redacted).not.toContain('138');
  });

  it.each(['8613800138000', '+86 138 0013 8000', 'hello', '', '+0123456'])(
    'gives [number] for input that is not E.164: %j',
    (input) => {
      expect(redactNumber(input)).toBe('[number]');
    },
  );
});

describe('lastTwo', () => {
  it('returns the last two digits', () => {
    expect(lastTwo('+8613800138000')).toBe('00');
    expect(lastTwo('+447400123456')).toBe('56');
  });

  it('returns an empty string when there is nothing to show', () => {
    expect(lastTwo('+1')).toBe('');
    expect(lastTwo('')).toBe('');
  });
});
