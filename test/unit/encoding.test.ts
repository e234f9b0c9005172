import fc from 'fast-check';
import {
  decodeSmppPart,
  Encoding,
  MAX_PARTS,
  measure,
  reassemble,
  splitForSmpp,
  type SmppSplit,
} from '../../domain/encoding';

// Written out independently of the implementation, straight from 3GPP TS 23.038.
const GSM_BASIC_CHARS =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM_EXTENSION_CHARS = '\f^{}\\[~]|€';

function partOf(split: SmppSplit, index: number): Buffer {
  const part = split.parts[index];
  if (!part) throw new Error(`no part ${index}`);
  return part;
}

function decodeAll(split: SmppSplit): string {
  const hasUdh = (split.esmClass & 0x40) !== 0;
  return reassemble(split.parts.map((p) => decodeSmppPart(p, split.dataCoding, hasUdh)));
}

describe('measure', () => {
  it('returns 0 segments for an empty body, which the API never sends', () => {
    expect(measure('')).toEqual({ encoding: Encoding.GSM7, units: 0, segments: 0 });
  });

  it('keeps plain text in GSM7, 160 septets in one segment', () => {
    expect(measure('Hello')).toEqual({ encoding: 'GSM7', units: 5, segments: 1 });
    expect(measure('a'.repeat(160))).toEqual({ encoding: 'GSM7', units: 160, segments: 1 });
  });

  it('uses 153 septets per part once concatenated', () => {
    expect(measure('a'.repeat(161)).segments).toBe(2);
    expect(measure('a'.repeat(306)).segments).toBe(2);
    expect(measure('a'.repeat(307)).segments).toBe(3);
  });

  it('accepts the whole default alphabet and counts each basic character as one septet', () => {
    expect(GSM_BASIC_CHARS).toHaveLength(127);
    expect(measure(GSM_BASIC_CHARS)).toEqual({ encoding: 'GSM7', units: 127, segments: 1 });
  });

  it('counts every extension character as two septets', () => {
    for (const ch of GSM_EXTENSION_CHARS) {
      expect(measure(ch)).toEqual({ encoding: 'GSM7', units: 2, segments: 1 });
    }
    expect(measure('€'.repeat(80))).toEqual({ encoding: 'GSM7', units: 160, segments: 1 });
    expect(measure('€'.repeat(81)).segments).toBe(2);
  });

  it.each(['ç', 'á', 'It’s', '“quoted”', '`', '\t', '验证码', 'Привет'])(
    'switches to UCS2 for a character outside GSM 03.38: %j',
    (text) => {
      expect(measure(text).encoding).toBe(Encoding.UCS2);
    },
  );

  it('counts UTF-16 code units in UCS2, 70 single and 67 per part', () => {
    expect(measure('中'.repeat(70))).toEqual({ encoding: 'UCS2', units: 70, segments: 1 });
    expect(measure('中'.repeat(71))).toEqual({ encoding: 'UCS2', units: 71, segments: 2 });
    expect(measure('中'.repeat(134)).segments).toBe(2);
    expect(measure('中'.repeat(135)).segments).toBe(3);
  });

  it('counts a surrogate pair as two units', () => {
    expect(measure('😀')).toEqual({ encoding: 'UCS2', units: 2, segments: 1 });
    expect(measure('a😀')).toEqual({ encoding: 'UCS2', units: 3, segments: 1 });
  });

  it('needs an extra segment when an escape sequence cannot straddle a boundary', () => {
    const text = 'a'.repeat(152) + '€' + 'a'.repeat(152);
    expect(measure(text)).toEqual({ encoding: 'GSM7', units: 306, segments: 3 });
  });

  it('needs an extra segment when a surrogate pair cannot straddle a boundary', () => {
    const text = '中'.repeat(66) + '😀' + '中'.repeat(66);
    expect(measure(text)).toEqual({ encoding: 'UCS2', units: 134, segments: 3 });
  });
});

describe('splitForSmpp', () => {
  it('sends a short GSM message as unpacked septets with data_coding 0 and no UDH', () => {
    const split = splitForSmpp('Hi @0', 7);
    expect(split).toEqual({
      encoding: 'GSM7',
      dataCoding: 0,
      esmClass: 0,
      parts: [Buffer.from([0x48, 0x69, 0x20, 0x00, 0x30])],
    });
  });

  it('escapes extension characters with 0x1B', () => {
    const split = splitForSmpp('{}[]~\\|^€\f', 0);
    expect([...partOf(split, 0)]).toEqual([
      0x1b, 0x28, 0x1b, 0x29, 0x1b, 0x3c, 0x1b, 0x3e, 0x1b, 0x3d, 0x1b, 0x2f, 0x1b, 0x40, 0x1b,
      0x14, 0x1b, 0x65, 0x1b, 0x0a,
    ]);
  });

  it('maps non-ASCII GSM characters to their 03.38 septets', () => {
    const split = splitForSmpp('£¥ÇΔ¡§¿àÄ', 0);
    expect([...partOf(split, 0)]).toEqual([0x01, 0x03, 0x09, 0x10, 0x40, 0x5f, 0x60, 0x7f, 0x5b]);
  });

  it('sends UCS2 as UTF-16BE with data_coding 8', () => {
    const split = splitForSmpp('验😀', 0);
    expect(split.encoding).toBe('UCS2');
    expect(split.dataCoding).toBe(8);
    expect(split.esmClass).toBe(0);
    expect(split.parts).toEqual([Buffer.from([0x9a, 0x8c, 0xd8, 0x3d, 0xde, 0x00])]);
  });

  it('prefixes every part of a long message with the concatenation UDH and sets UDHI', () => {
    const split = splitForSmpp('a'.repeat(200), 0x1234);
    expect(split.esmClass).toBe(0x40);
    expect(split.parts).toHaveLength(2);
    expect([...partOf(split, 0).subarray(0, 6)]).toEqual([5, 0, 3, 0x34, 2, 1]);
    expect([...partOf(split, 1).subarray(0, 6)]).toEqual([5, 0, 3, 0x34, 2, 2]);
    expect(split.parts[0]).toHaveLength(6 + 153);
    expect(split.parts[1]).toHaveLength(6 + 47);
  });

  it('uses only the low 8 bits of the reference', () => {
    const split = splitForSmpp('a'.repeat(200), 256 + 9);
    expect(split.parts[0]?.[3]).toBe(9);
  });

  it('keeps UCS2 parts within 140 octets', () => {
    const split = splitForSmpp('中'.repeat(300), 1);
    expect(split.parts).toHaveLength(5);
    for (const part of split.parts) expect(part.length).toBeLessThanOrEqual(140);
    expect(split.parts[0]).toHaveLength(6 + 67 * 2);
  });

  it('never ends a GSM part on a bare escape', () => {
    const split = splitForSmpp('a'.repeat(152) + '€' + 'a'.repeat(152), 3);
    expect(split.parts).toHaveLength(3);
    const first = partOf(split, 0);
    expect(first).toHaveLength(6 + 152);
    expect(first[first.length - 1]).toBe(0x61);
    expect([...partOf(split, 1).subarray(6, 8)]).toEqual([0x1b, 0x65]);
  });

  it('never splits a surrogate pair', () => {
    const split = splitForSmpp('中'.repeat(66) + '😀' + '中'.repeat(66), 3);
    expect(split.parts).toHaveLength(3);
    expect(split.parts[0]).toHaveLength(6 + 66 * 2);
    expect([...partOf(split, 1).subarray(6, 10)]).toEqual([0xd8, 0x3d, 0xde, 0x00]);
  });

  it('agrees with measure on the number of segments', () => {
    const gsm = fc.constantFrom(...GSM_BASIC_CHARS, ...GSM_EXTENSION_CHARS);
    const text = fc.oneof(
      fc.string({ unit: gsm, minLength: 1, maxLength: 1200 }),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 600 }),
    );
    fc.assert(
      fc.property(text, (text) => {
        expect(splitForSmpp(text, 1).parts).toHaveLength(measure(text).segments);
      }),
    );
  });

  it('refuses an empty body', () => {
    expect(() => splitForSmpp('', 1)).toThrow(RangeError);
  });

  it(`refuses a body needing more than ${MAX_PARTS} parts`, () => {
    expect(splitForSmpp('a'.repeat(153 * MAX_PARTS), 1).parts).toHaveLength(MAX_PARTS);
    expect(() => splitForSmpp('a'.repeat(153 * MAX_PARTS + 1), 1)).toThrow(RangeError);
  });
});

describe('round trip through decodeSmppPart and reassemble', () => {
  const gsmChar = fc.constantFrom(...GSM_BASIC_CHARS, ...GSM_EXTENSION_CHARS);

  it('restores any GSM text', () => {
    fc.assert(
      fc.property(fc.string({ unit: gsmChar, minLength: 1, maxLength: 1200 }), (text) => {
        const split = splitForSmpp(text, 42);
        expect(split.encoding).toBe('GSM7');
        expect(decodeAll(split)).toBe(text);
      }),
    );
  });

  it('restores any Unicode text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 400 }), (text) => {
        expect(decodeAll(splitForSmpp(text, 42))).toBe(text);
      }),
    );
  });

  it('restores a long Chinese one-time-code message', () => {
    const text = '【支付宝】验证码:601769。您正在使用登录功能,请勿转发。'.repeat(5);
    const split = splitForSmpp(text, 200);
    expect(split.parts.length).toBeGreaterThan(1);
    expect(decodeAll(split)).toBe(text);
  });

  it('reassembles parts received out of order', () => {
    const text = 'x'.repeat(400);
    const split = splitForSmpp(text, 5);
    const decoded = split.parts.map((p) => decodeSmppPart(p, 0, true)).reverse();
    expect(reassemble(decoded)).toBe(text);
  });
});

describe('decodeSmppPart', () => {
  it('reports the concatenation header', () => {
    const part = partOf(splitForSmpp('b'.repeat(170), 77), 1);
    expect(decodeSmppPart(part, 0, true)).toEqual({
      text: 'b'.repeat(17),
      udh: { ref: 77, total: 2, seq: 2 },
    });
  });

  it('has no udh field for a message without a header', () => {
    expect(decodeSmppPart(Buffer.from('ok'), 0, false)).toEqual({ text: 'ok' });
  });

  it('reads the 16-bit reference element and skips unknown elements', () => {
    // UDHL 9: national language shift (0x24, len 1) then 16-bit concat (0x08, len 4).
    const buf = Buffer.from([9, 0x24, 1, 0x01, 0x08, 4, 0x12, 0x34, 3, 2, 0x41]);
    expect(decodeSmppPart(buf, 0, true)).toEqual({
      text: 'A',
      udh: { ref: 0x1234, total: 3, seq: 2 },
    });
  });

  it('decodes the 03.38 table positions', () => {
    const octets = [0x00, 0x01, 0x02, 0x03, 0x09, 0x10, 0x11, 0x1f, 0x24, 0x40, 0x5f, 0x60, 0x7f];
    expect(decodeSmppPart(Buffer.from(octets), 0, false).text).toBe('@£$¥ÇΔ_É¤¡§¿à');
  });

  it('falls back to the default table for an unknown extension and a space for a bare escape', () => {
    expect(decodeSmppPart(Buffer.from([0x1b, 0x41, 0x1b]), 0, false).text).toBe('A ');
  });

  it('decodes IA5 and Latin-1', () => {
    expect(decodeSmppPart(Buffer.from('plain'), 1, false).text).toBe('plain');
    expect(decodeSmppPart(Buffer.from([0x63, 0xe9]), 3, false).text).toBe('cé');
  });

  it.each([
    ['an octet above 0x7F in GSM data', Buffer.from([0x41, 0x80]), 0, false],
    ['an odd-length UCS2 payload', Buffer.from([0x00, 0x41, 0x00]), 8, false],
    ['an unsupported data_coding', Buffer.from('x'), 4, false],
    ['a UDH longer than the message', Buffer.from([9, 0, 3]), 0, true],
    ['a UDH element running past the header', Buffer.from([3, 0x00, 3, 1, 0x41]), 0, true],
  ])('rejects %s', (_name, buf, dataCoding, hasUdh) => {
    expect(() => decodeSmppPart(buf, dataCoding, hasUdh)).toThrow(RangeError);
  });
});

describe('reassemble', () => {
  const udh = (ref: number, total: number, seq: number) => ({ ref, total, seq });

  it('returns a single part without header as is', () => {
    expect(reassemble([{ text: 'hello' }])).toBe('hello');
  });

  it.each([
    ['no parts', []],
    [
      'a missing part',
      [
        { text: 'a', udh: udh(1, 3, 1) },
        { text: 'b', udh: udh(1, 3, 2) },
      ],
    ],
    [
      'a duplicate part',
      [
        { text: 'a', udh: udh(1, 2, 1) },
        { text: 'a', udh: udh(1, 2, 1) },
      ],
    ],
    [
      'parts of different messages',
      [
        { text: 'a', udh: udh(1, 2, 1) },
        { text: 'b', udh: udh(2, 2, 2) },
      ],
    ],
    [
      'a sequence number out of range',
      [
        { text: 'a', udh: udh(1, 2, 1) },
        { text: 'b', udh: udh(1, 2, 3) },
      ],
    ],
    ['several parts without header', [{ text: 'a' }, { text: 'b' }]],
  ])('refuses %s', (_name, parts) => {
    expect(() => reassemble(parts)).toThrow(RangeError);
  });
});
