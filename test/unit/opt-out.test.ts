import { loadConfig } from '../../config/config';
import { isOptOutText } from '../../domain/opt-out';

const KEYWORDS = loadConfig({}).optOut.keywords;

describe('isOptOutText', () => {
  test.each([
    'STOP',
    'stop',
    ' Stop. ',
    'STOP please',
    'Ｓｔｏｐ',
    'UNSUBSCRIBE',
    '退订',
    'td',
    'TD!',
  ])('%j opts out', (text) => expect(isOptOutText(text, KEYWORDS)).toBe(true));

  test.each(['', 'please stop by our shop', "don't stop", 'STOPWATCH', 'hello', '订阅', 'TDX'])(
    '%j does not',
    (text) => expect(isOptOutText(text, KEYWORDS)).toBe(false),
  );

  test('the keyword list is configurable', () => {
    const custom = loadConfig({ OPT_OUT_KEYWORDS: 'ALTO, BAJA' }).optOut.keywords;
    expect(custom).toEqual(['ALTO', 'BAJA']);
    expect(isOptOutText('alto', custom)).toBe(true);
    expect(isOptOutText('STOP', custom)).toBe(false);
  });
});

describe('retention config', () => {
  test('defaults: otp 1 day, transactional 30 days, marketing 90 days; otp exempt from opt-out', () => {
    const c = loadConfig({});
    expect(c.retention.defaults).toEqual({
      otp: 86_400,
      transactional: 30 * 86_400,
      marketing: 90 * 86_400,
    });
    expect(c.optOut.otpExempt).toBe(true);
  });

  test('a bad value names the variable', () => {
    expect(() => loadConfig({ RETENTION_OTP_SECONDS: '0' })).toThrow(/RETENTION_OTP_SECONDS/);
    expect(() => loadConfig({ OPT_OUT_OTP_EXEMPT: 'maybe' })).toThrow(/OPT_OUT_OTP_EXEMPT/);
  });
});
