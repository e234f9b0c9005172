import fc from 'fast-check';
import { ALLOWED_CONTROLS, refuseText } from '../../domain/text';

describe('refuseText: what a message body may not hold', () => {
  test.each([
    ['NUL', 'code\u0000123'],
    ['BEL', 'ring\u0007'],
    ['ESC', '\u001b[31mred'],
    ['vertical tab', 'a\u000bb'],
    ['form feed', 'a\u000cb'],
    ['DEL', 'a\u007fb'],
    ['C1 next line', 'a\u0085b'],
  ])('refuses %s', (_name, text) => {
    expect(refuseText(text)).toBe('control_character');
  });

  test.each([
    ['a lone high surrogate', 'abc\ud800'],
    ['a lone low surrogate', '\udc00abc'],
    ['two high surrogates', '\ud83d\ud83d'],
    ['a reversed pair', '\ude00\ud83d'],
  ])('refuses %s', (_name, text) => {
    expect(refuseText(text)).toBe('lone_surrogate');
  });

  test('accepts line feed, carriage return, tab, emoji and other scripts', () => {
    for (const text of [
      'line one\nline two',
      'windows\r\nbreak',
      'a\tb',
      'Your code is 123456 😀',
      '您的验证码是 246810',
      'Ihr Code lautet 654321 — gültig 5 Min.',
      ALLOWED_CONTROLS.join(''),
    ])
      expect(refuseText(text)).toBeUndefined();
  });

  test('agrees with the Unicode definition of well-formed text (fast-check)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        // UTF-8 cannot encode a lone surrogate: the round trip replaces it with U+FFFD.
        const wellFormed = Buffer.from(text, 'utf8').toString('utf8') === text;
        // eslint-disable-next-line no-control-regex -- the oracle names the refused controls
        const hasControl = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/.test(text);
        const expected = hasControl
          ? 'control_character'
          : wellFormed
            ? undefined
            : 'lone_surrogate';
        expect(refuseText(text)).toBe(expected);
      }),
    );
  });
});
