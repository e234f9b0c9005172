import { measure, smartEncode } from '../../domain/encoding';
import { normalizeRecipient } from '../../domain/phone';
import {
  checkSendAt,
  dispatchDeadline,
  isRoutableReceiptFailure,
  MAX_SCHEDULE_AHEAD_MS,
  remainingValiditySeconds,
} from '../../domain/scheduling';
import { TEST_NUMBERS, testNumberBehaviour, testNumberRecipient } from '../../domain/test-numbers';

describe('smartEncode', () => {
  it('replaces curly quotes, long dashes, special spaces and the ellipsis, and counts the saved segments', () => {
    const text = `“Hello” — it’s\u00a0ready… ${'x'.repeat(60)}`;
    expect(measure(text)).toMatchObject({ encoding: 'UCS2', segments: 2 });
    const r = smartEncode(text);
    expect(r.text).toBe(`"Hello" - it's ready... ${'x'.repeat(60)}`);
    expect(r).toMatchObject({
      replaced: 6,
      original: { encoding: 'UCS2', segments: 2 },
      measurement: { encoding: 'GSM7', segments: 1 },
      segmentsSaved: 1,
    });
  });

  it('drops zero-width characters and maps fullwidth punctuation', () => {
    expect(smartEncode('a\u200bb\ufeffc\uff01').text).toBe('abc!');
  });

  it('switches to GSM-7 even when the segment count stays the same', () => {
    const r = smartEncode('It’s 5 o’clock');
    expect(r).toMatchObject({ text: "It's 5 o'clock", segmentsSaved: 0 });
    expect(r.measurement.encoding).toBe('GSM7');
  });

  it('keeps the original when other characters force UCS-2 and replacing would cost more', () => {
    const text = `您好…${'字'.repeat(68)}`; // 70 UCS-2 units: one segment; "..." would make it 72
    const r = smartEncode(text);
    expect(r).toMatchObject({ text, replaced: 0, segmentsSaved: 0 });
    expect(r.measurement).toEqual(measure(text));
  });

  it('never changes letters, GSM-7 text or an empty body', () => {
    for (const text of ['Café ñandú Ünïcode', 'plain "ascii" - text...', '', 'Привет']) {
      expect(smartEncode(text)).toMatchObject({ text, replaced: 0, segmentsSaved: 0 });
    }
  });
});

describe('checkSendAt', () => {
  const now = Date.parse('2026-11-25T12:00:00Z');
  it('accepts ISO 8601 with a zone up to 35 days ahead', () => {
    expect(checkSendAt('2026-11-25T12:00:03Z', now)).toEqual({ ok: true, sendAt: now + 3000 });
    expect(checkSendAt('2026-11-25T13:00:03+01:00', now)).toEqual({ ok: true, sendAt: now + 3000 });
    expect(checkSendAt('2026-11-25T12:00:00Z', now)).toEqual({ ok: true }); // now: no schedule
    expect(checkSendAt(undefined, now)).toEqual({ ok: true });
    expect(checkSendAt(new Date(now + MAX_SCHEDULE_AHEAD_MS).toISOString(), now).ok).toBe(true);
  });
  it('sends at once within the skew tolerance, refuses the past, the far future and other formats', () => {
    expect(checkSendAt('2026-11-25T11:59:00Z', now)).toEqual({ ok: true });
    expect(checkSendAt('2026-11-25T11:00:00Z', now)).toEqual({ ok: false, reason: 'past' });
    expect(checkSendAt('2027-01-05T12:00:00Z', now)).toEqual({ ok: false, reason: 'too_far' });
    for (const v of ['2026-11-25T12:00:00', 'tomorrow', '2026-11-25', '2026-13-45T12:00:00Z'])
      expect(checkSendAt(v, now)).toEqual({ ok: false, reason: 'invalid' });
  });
});

describe('validity', () => {
  it('counts from the scheduled time, else from acceptance', () => {
    expect(dispatchDeadline({ acceptedAt: 1000, validitySeconds: 2 })).toBe(3000);
    expect(dispatchDeadline({ acceptedAt: 1000, sendAt: 9000, validitySeconds: 2 })).toBe(11_000);
    expect(dispatchDeadline({ acceptedAt: 1000 })).toBeUndefined();
  });
  it('gives SMPP the whole seconds left, at least one', () => {
    expect(remainingValiditySeconds(10_000, 0)).toBe(10);
    expect(remainingValiditySeconds(10_000, 1)).toBe(10);
    expect(remainingValiditySeconds(10_000, 9_999)).toBe(1);
    expect(remainingValiditySeconds(10_000, 20_000)).toBe(1);
  });
});

describe('isRoutableReceiptFailure', () => {
  it('matches undeliverable and rejected receipts with a configured code, leading zeros aside', () => {
    expect(isRoutableReceiptFailure({ status: 'undeliverable', errorCode: '012' }, ['12'])).toBe(
      true,
    );
    expect(isRoutableReceiptFailure({ status: 'rejected', errorCode: '12' }, ['012'])).toBe(true);
    expect(isRoutableReceiptFailure({ status: 'undeliverable', errorCode: '001' }, ['12'])).toBe(
      false,
    );
    expect(isRoutableReceiptFailure({ status: 'undeliverable' }, ['12'])).toBe(false);
    expect(isRoutableReceiptFailure({ status: 'expired', errorCode: '012' }, ['12'])).toBe(false);
    expect(isRoutableReceiptFailure({ status: 'undeliverable', errorCode: '0' }, ['0'])).toBe(true);
  });
});

describe('test numbers', () => {
  it('lie in the drama range no subscriber can hold, and the API recognises each, one per behaviour', () => {
    for (const n of Object.keys(TEST_NUMBERS)) {
      expect(n).toMatch(/^\+447700900\d{3}$/);
      expect(normalizeRecipient(n)).toMatchObject({ ok: false });
      expect(testNumberRecipient(` ${n}`)).toEqual({
        ok: true,
        e164: n,
        country: 'GB',
        callingCode: '44',
      });
    }
    expect(testNumberRecipient('+447400123456')).toBeUndefined();
    expect(new Set(Object.values(TEST_NUMBERS))).toEqual(
      new Set([
        'success',
        'transient_failure',
        'permanent_failure',
        'delayed_receipt',
        'opted_out',
      ]),
    );
    expect(testNumberBehaviour('+447700900104')).toBe('opted_out');
    expect(testNumberBehaviour('+447700900199')).toBeUndefined();
    expect(testNumberBehaviour('constructor')).toBeUndefined();
  });
});
