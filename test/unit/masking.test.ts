import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { CODE_MASK, maskCodes, NUMBER_MASK, redactFreeText } from '../../domain/masking';

interface OtpExample {
  text: string;
  code: string;
  sender_signature: string;
  numbers_to_keep: string[];
}

// A copy of ../shared/seed/otp-messages.jsonl, so a fresh clone tests against the same real-world samples.
const SEED = path.join(__dirname, '../fixtures/otp-messages.jsonl');
const examples: OtpExample[] = readFileSync(SEED, 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as OtpExample);

describe('maskCodes on the real-world seed', () => {
  it('has examples to check', () => {
    expect(examples.length).toBeGreaterThanOrEqual(10);
  });

  it.each(examples.map((e) => [e.text, e] as const))('masks %s', (_text, example) => {
    const masked = maskCodes(example.text);
    expect(masked).not.toContain(example.code);
    expect(masked).toContain(CODE_MASK);
    expect(masked).toContain(`【${example.sender_signature}】`);
    for (const keep of example.numbers_to_keep) expect(masked).toContain(keep);
    // Nothing but the code changed.
    expect(masked).toBe(example.text.replace(example.code, CODE_MASK));
  });
});

describe('maskCodes', () => {
  it.each([
    ['Your code is 123456', 'Your code is ••••'],
    ['G-123456 is your Google verification code.', 'G-•••• is your Google verification code.'],
    ['Use 4821 to sign in. Valid for 10 minutes.', 'Use •••• to sign in. Valid for 10 minutes.'],
    ['Your OTP: 12-34-56', 'Your OTP: ••••'],
    ['Your verification code: 123 456', 'Your verification code: ••••'],
    ['Your login code: AB12CD. Do not share it.', 'Your login code: ••••. Do not share it.'],
    ['code:9F3K2Q', 'code:••••'],
    ['PIN 0042 for card ending', 'PIN •••• for card ending'],
    [
      'Your one-time password is 55917308, valid 5 min',
      'Your one-time password is ••••, valid 5 min',
    ],
    [
      'Verification code 1234567890 expires in 5 minutes',
      'Verification code •••• expires in 5 minutes',
    ],
    ['123456 is your Example verification code', '•••• is your Example verification code'],
    ['【滴滴出行】验证码９８７６５４，５分钟内有效', '【滴滴出行】验证码••••，５分钟内有效'],
    ['【铁路12306】验证码:4821,15分钟内有效', '【铁路12306】验证码:••••,15分钟内有效'],
    ['您的验证码为123456时效为5分钟', '您的验证码为••••时效为5分钟'],
    ['验证码1308,15分钟内有效', '验证码••••,15分钟内有效'],
    ['验证码1308.15分钟内有效', '验证码••••.15分钟内有效'],
    ['【天猫】验证码是 A7B9C2 ,请勿泄露', '【天猫】验证码是 •••• ,请勿泄露'],
    ['取件码 3-1-5208,请到菜鸟驿站取件', '取件码 3-1-••••,请到菜鸟驿站取件'],
    ['Your code is 12-10-24', 'Your code is ••••'],
    ['Your code is 31-12-5208', 'Your code is ••••'],
    ['验证码：3 8 2 9 1 0', '验证码：••••'],
    ['Your verification code is: QXBTRA', 'Your verification code is: ••••'],
    ['YOUR VERIFICATION CODE: QXBTRA', 'YOUR VERIFICATION CODE: ••••'],
    ['NETFLIX: your code is 4821', 'NETFLIX: your code is ••••'],
    ['Your code expires in 10 min. NETFLIX', 'Your code expires in 10 min. NETFLIX'],
    ['ACME: your code expires in 10 min', 'ACME: your code expires in 10 min'],
    ['ACME code QXBTRA', 'ACME code ••••'],
    ['验证码为QXBT,请勿泄露', '验证码为••••,请勿泄露'],
    ['Passcode: a1b2c3', 'Passcode: ••••'],
    ['【美团】123456（登录验证码，请完成验证）', '【美团】••••（登录验证码，请完成验证）'],
    ['验证码123456(10分钟内有效)', '验证码••••(10分钟内有效)'],
    ['https://example.com/verify?token=9f3k2q7x', 'https://example.com/verify?token=••••'],
    ['Código de verificación: 382910', 'Código de verificación: ••••'],
  ])('masks %j', (text, expected) => {
    expect(maskCodes(text)).toBe(expected);
  });

  it.each([
    'You paid $12.50? No: $1,234.56 and ¥1000 and €2500 and USD 7500.',
    '【银行】您尾号消费1000元，余额12,345.67元。',
    'Valid for 1440 minutes, 2000 points, 5000 km, 1500 ms, 3000%.',
    '本次有效期5分钟，共计3000次，限额20000元。',
    '您本月获得1500分，累计365天，兑换2000个。',
    'Delivery on 2024-05-12 at 12:30, or 12/05/2024 or 12.05.2024 or 12-05-24.',
    'Your code expires on 2024-05-12 at 12:30.',
    'Your appointment: May 12, 2024 at 10:30. Or 12 May 2024.',
    '2024年5月12日 10:30前有效',
    'Meeting at 10:30:45 in room B',
    'Order 15 items for 3 people',
  ])('leaves amounts, durations, dates and times alone: %j', (text) => {
    expect(maskCodes(text)).toBe(text);
  });

  it('leaves text without digits untouched', () => {
    expect(maskCodes('Your code expires soon. 请勿泄露验证码')).toBe(
      'Your code expires soon. 请勿泄露验证码',
    );
  });

  it('masks a code but keeps validity and amount in the same message', () => {
    expect(maskCodes('Your code is 482913. It is valid for 10 minutes to pay $25.00.')).toBe(
      'Your code is ••••. It is valid for 10 minutes to pay $25.00.',
    );
  });

  it('always uses four bullets, whatever the code length', () => {
    expect(maskCodes('code 1234')).toBe('code ••••');
    expect(maskCodes('code 12345678')).toBe('code ••••');
  });

  it('masks standalone 4 to 8 digit runs even without a keyword', () => {
    expect(maskCodes('Use 7731 at the door')).toBe('Use •••• at the door');
    expect(maskCodes('Sign in with 12345678 now')).toBe('Sign in with •••• now');
    expect(maskCodes('Year 123 is too short')).toBe('Year 123 is too short');
  });

  it('does not treat a keyword in another sentence as applying to an alphanumeric token', () => {
    expect(maskCodes('Keep your code safe! Ticket AB12CD is confirmed')).toBe(
      'Keep your code safe! Ticket AB12CD is confirmed',
    );
  });

  it('does not take a number with its unit for a code', () => {
    expect(maskCodes('code valid 10mins')).toBe('code valid 10mins');
  });

  it('masks any 4 to 8 digit code in common templates and keeps their validity', () => {
    const templates = [
      (c: string, m: number) => `【某某银行】您的验证码是${c}，${m}分钟内有效。`,
      (c: string, m: number) => `【某某】验证码:${c},有效期${m}分钟,请勿泄露。`,
      (c: string, m: number) => `${c}（动态验证码），请在${m}分钟内填写`,
      (c: string, m: number) => `Your verification code is ${c}. It expires in ${m} minutes.`,
      (c: string, m: number) => `${c} is your login code. Valid for ${m} min.`,
      (c: string, m: number) => `Use ${c} to sign in within ${m} minutes`,
      (c: string, m: number) => `ACME: code ${c}, valid ${m} mins`,
    ];
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9]{4,8}$/),
        fc.integer({ min: 1, max: 120 }),
        fc.constantFrom(...templates),
        (code, minutes, template) => {
          const masked = maskCodes(template(code, minutes));
          expect(masked).not.toContain(code);
          expect(masked).toContain(CODE_MASK);
          expect(masked).toContain(String(minutes));
        },
      ),
    );
  });

  it('is idempotent', () => {
    for (const { text } of examples) {
      const once = maskCodes(text);
      expect(maskCodes(once)).toBe(once);
    }
  });
});

describe('redactFreeText', () => {
  it.each([
    ['invalid destination +8613800138000', `invalid destination ${NUMBER_MASK}`],
    ['ESME_RINVDSTADR for 447400123456', `ESME_RINVDSTADR for ${NUMBER_MASK}`],
    ['rejected +44 7400 123456: barred', `rejected ${NUMBER_MASK}: barred`],
    ['dest=(201) 555-0123 unreachable', `dest=${NUMBER_MASK} unreachable`],
    ['msisdn 138-0013-8000 unknown', `msisdn ${NUMBER_MASK} unknown`],
  ])('replaces the phone number in %j', (text, expected) => {
    expect(redactFreeText(text)).toBe(expected);
  });

  it('masks codes quoted in carrier errors', () => {
    expect(redactFreeText('content blocked: "Your code is 482913" to +447400123456')).toBe(
      `content blocked: "Your code is ••••" to ${NUMBER_MASK}`,
    );
  });

  it('keeps message ids, run ids and timestamps whole', () => {
    const line =
      'msg_01J9Z8K3M4N5P6Q7R8S9T0V1W2 run 12345678-1234-4123-8123-123456789012 ' +
      'at 2024-05-12T10:30:00.123Z failed for +8613800138000';
    expect(redactFreeText(line)).toBe(
      'msg_01J9Z8K3M4N5P6Q7R8S9T0V1W2 run 12345678-1234-4123-8123-123456789012 ' +
        `at 2024-05-12T10:30:00.123Z failed for ${NUMBER_MASK}`,
    );
  });

  it('leaves short numbers, hex status codes and addresses alone', () => {
    const line = 'HTTP 503 after 3 retries, command_status 0x0000000B from 10.20.30.40:2775';
    expect(redactFreeText(line)).toBe(line);
  });

  it('leaves no run of 7 digits behind', () => {
    const text = 'a 1234567 b +1 (201) 555-0123 c 86-138-0013-8000 d 12345678901234567890';
    expect(redactFreeText(text)).not.toMatch(/\d{4}/);
  });
});
