import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import {
  CODE_MASK,
  EMAIL_MASK,
  foldForMatching,
  maskCodes,
  NUMBER_MASK,
  redactForPeople,
  redactFreeText,
} from '../../domain/masking';
import { DIGIT_ZEROS, inScript } from '../helpers/digits';

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

/** What the rules read of a text: a leak in any digit script or spacing shows up as ASCII here. */
const folded = (text: string) => foldForMatching(text).text;

/** Spaces of every kind a code or number may be grouped with. */
const SPACES = [' ', '\u00a0', '\u2009', '\u202f', '\u2007', '\u3000', '  ', '\t'];
const script = fc.constantFrom(...DIGIT_ZEROS);

describe('maskCodes over all scripts', () => {
  it.each([
    ['رمز التحقق: ٤٨٢٩١٣', 'رمز التحقق: ••••'],
    ['کد تایید شما ۴۸۲۹۱۳ است', 'کد تایید شما •••• است'],
    ['आपका ओटीपी ४८२९१३ है', 'आपका ओटीपी •••• है'],
    ['OTP482913 is your code', 'OTP•••• is your code'],
    ['Your PIN0042, card ending', 'Your PIN••••, card ending'],
    ['482913code', '••••code'],
    ['Your code: 73 91 52', 'Your code: ••••'],
    ['Your code: 73\u202f91\u202f52', 'Your code: ••••'],
    ['Your code: 73\u00a0\u00a091\u300052', 'Your code: ••••'],
    ['code\u200b482913', 'code\u200b••••'],
    ['Ваш код: ٤٨٢٩١٣٥٧', 'Ваш код: ••••'],
    ['𝟒𝟖𝟐𝟗𝟏𝟑 is your code', '•••• is your code'],
    ['Оплата 2500 руб, код 4829', 'Оплата 2500 руб, код ••••'],
    ['код 4829 руб', 'код •••• руб'],
  ])('masks %j', (text, expected) => {
    expect(maskCodes(text)).toBe(expected);
  });

  it.each([
    'Оплата 2500 руб',
    'Итого 2500 ₽ и 12 500 руб.',
    'المبلغ ٢٥٠٠ ريال',
    'राशि ₹ ४५०० है',
    'Pay 2500 EUR, 7500 USD, 1200 zł or 3400 kr',
    'Paid 2500 TRY today',
  ])('keeps an amount with its currency before or after: %j', (text) => {
    expect(maskCodes(text)).toBe(text);
  });

  it('masks any code, in any digit script, glued to its keyword or grouped with any space', () => {
    const shapes = [
      (c: string) => `Your code is ${c}. Valid for 5 minutes.`,
      (c: string) => `OTP${c} is your login code`,
      (c: string) => `code${c}`,
      (c: string) => `【某某】验证码${c}，5分钟内有效`,
      (c: string) => `Ваш код: ${c}`,
      (c: string) => `رمز التحقق ${c}`,
      (c: string) => `${c} is your verification code`,
    ];
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9]{4,8}$/),
        script,
        fc.constantFrom(...shapes),
        (code, zero, shape) => {
          const masked = maskCodes(shape(inScript(code, zero)));
          expect(folded(masked)).not.toContain(code);
          expect(masked).toContain(CODE_MASK);
        },
      ),
    );
  });

  it('masks any code written in two or three groups with any kind of space, next to a keyword', () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[0-9]{2,3}$/), { minLength: 2, maxLength: 3 }),
        fc.constantFrom(...SPACES),
        script,
        fc.constantFrom('Your code: ', 'Код ', 'PIN ', '验证码 '),
        (groups, space, zero, lead) => {
          fc.pre(groups.join('').length >= 4 && groups.join('').length <= 8);
          const masked = maskCodes(`${lead}${inScript(groups.join(space), zero)}, valid 5 min`);
          for (const g of groups)
            expect(folded(masked)).not.toMatch(new RegExp(`(?<!\\d)${g}(?!\\d)`));
          expect(masked).toContain(CODE_MASK);
        },
      ),
    );
  });

  it('keeps any amount with its currency before or after, in any digit script, outside a keyword window', () => {
    const amounts = [
      (n: string) => `$${n}`,
      (n: string) => `€ ${n}`,
      (n: string) => `USD ${n}`,
      (n: string) => `${n} руб`,
      (n: string) => `${n} ₽`,
      (n: string) => `${n} EUR`,
      (n: string) => `${n}元`,
      (n: string) => `${n} ريال`,
      (n: string) => `Rs. ${n}`,
    ];
    const sentences = [
      (a: string) => `You paid ${a} at ACME.`,
      (a: string) => `Your code expires soon. Balance: ${a}.`,
      (a: string) => `【银行】您消费${a}，余额充足。`,
    ];
    fc.assert(
      fc.property(
        fc.stringMatching(/^[1-9][0-9]{3,7}$/),
        script,
        fc.constantFrom(...amounts),
        fc.constantFrom(...sentences),
        (n, zero, amount, sentence) => {
          const text = sentence(amount(inScript(n, zero)));
          expect(maskCodes(text)).toBe(text);
          expect(redactForPeople(text)).toBe(text);
        },
      ),
    );
  });
});

describe('redactForPeople: what a reviewer, an operator and a log line see of a body', () => {
  it.each([
    ['收件人电话 13912345680 ，请尽快取件', `收件人电话 ${NUMBER_MASK} ，请尽快取件`],
    ['Confirme al 600 123 456 su cita', `Confirme al ${NUMBER_MASK} su cita`],
    ['Call +44 (0)20 7946 0958 now', `Call ${NUMBER_MASK} now`],
    ['Call (201) 555-0123 now', `Call ${NUMBER_MASK} now`],
    ['Appelez le 06.12.34.56.78', `Appelez le ${NUMBER_MASK}`],
    ['Звоните +7 (495) 123-45-67', `Звоните ${NUMBER_MASK}`],
    ['Ruf 030/1234567 an', `Ruf ${NUMBER_MASK} an`],
    ['اتصل ٠٥٠ ١٢٣ ٤٥٦٧', `اتصل ${NUMBER_MASK}`],
    ['कॉल करें +९१ ९८७६५ ४३२१०', `कॉल करें ${NUMBER_MASK}`],
    ['Write to john.doe+x@example.co.uk today', `Write to ${EMAIL_MASK} today`],
    ['QQ 13912345680@qq.com', `QQ ${EMAIL_MASK}`],
    [
      'Your code is 482913, call 600 123 456 or write a@b.io. Pay $25.00 by 2024-05-12 10:30.',
      `Your code is ${CODE_MASK}, call ${NUMBER_MASK} or write ${EMAIL_MASK}. Pay $25.00 by 2024-05-12 10:30.`,
    ],
    [
      'Your verification code is 48291365. Valid 5 min',
      `Your verification code is ${CODE_MASK}. Valid 5 min`,
    ],
    ['Total 2 500 000 руб, tel 8 800 555 35 35', `Total 2 500 000 руб, tel ${NUMBER_MASK}`],
  ])('redacts %j', (text, expected) => {
    expect(redactForPeople(text)).toBe(expected);
  });

  it.each([
    'Delivery on 2024-05-12 at 12:30, or 12/05/2024 or 12.05.2024 or 12-05-24.',
    'Valid for 1440 minutes, 2000 points, 5000 km, 1500 ms, 3000%.',
    'You paid $12.50? No: $1,234.56 and ¥1000 and €2500 and USD 7500.',
    '【银行】您尾号消费1000元，余额12,345.67元。',
    '2024年5月12日 10:30前有效',
    'Итого 1 250 000 руб. до ١٢:٣٠',
    'Your code expires in 10 minutes',
  ])('keeps amounts, dates, times and validity readable: %j', (text) => {
    expect(redactForPeople(text)).toBe(text);
  });

  it('is maskCodes on the seed (nothing else in it is personal)', () => {
    for (const { text } of examples) expect(redactForPeople(text)).toBe(maskCodes(text));
  });

  it('replaces any phone number, in any grouping and digit script', () => {
    const separators = [...SPACES, '-', '.', '/', ' - '];
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[0-9]{1,5}$/), { minLength: 1, maxLength: 6 }),
        fc.constantFrom(...separators),
        fc.constantFrom('', '+', '00'),
        script,
        fc.constantFrom(
          (n: string) => `Call ${n} today`,
          (n: string) => `收件人电话 ${n}，请尽快取件`,
          (n: string) => `Confirme al ${n}`,
          (n: string) => `اتصل ${n}`,
        ),
        (groups, sep, prefix, zero, sentence) => {
          const number = prefix + groups.join(sep);
          fc.pre(number.replace(/[^0-9]/g, '').length >= 7);
          // `12345.67` reads as an amount, not a phone number.
          fc.pre(!/^\+?[0-9]+\.[0-9]{1,2}$/.test(number));
          const out = redactForPeople(sentence(inScript(number, zero)));
          // Nothing of it is left: the template has no digit of its own.
          expect(folded(out)).not.toMatch(/[0-9]/);
        },
      ),
    );
  });

  it('replaces any e-mail address', () => {
    fc.assert(
      fc.property(fc.emailAddress(), (email) => {
        const out = redactForPeople(`Write to ${email} today`);
        expect(out).not.toContain(email);
        expect(out).not.toContain('@');
      }),
    );
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        const once = redactForPeople(text);
        expect(redactForPeople(once)).toBe(once);
      }),
    );
  });
});
