import {
  CarrierError,
  CarrierErrorType,
  classifySmppStatus,
  isCarrierError,
  parseReceiptDate,
  parseReceiptText,
  smppStatusLabel,
  statusFromMessageState,
} from '../../../carriers/errors';

describe('classifySmppStatus', () => {
  it.each([
    [0x58, CarrierErrorType.THROTTLED],
    [0x14, CarrierErrorType.THROTTLED],
    [0x08, CarrierErrorType.TRANSIENT],
    [0x45, CarrierErrorType.TRANSIENT],
    [0x64, CarrierErrorType.TRANSIENT],
    [0x0b, CarrierErrorType.PERMANENT],
    [0x0a, CarrierErrorType.PERMANENT],
    [0x104, CarrierErrorType.PERMANENT],
    [0x01, CarrierErrorType.PERMANENT],
    [0x65, CarrierErrorType.PERMANENT],
    [0x66, CarrierErrorType.PERMANENT],
    [0x62, CarrierErrorType.PERMANENT],
    [0xff, CarrierErrorType.TRANSIENT],
    [0x400, CarrierErrorType.TRANSIENT], // vendor-specific, unknown to us
  ])('0x%s → %s', (status, expected) => {
    expect(classifySmppStatus(status)).toBe(expected);
  });

  it('labels statuses by name and hex', () => {
    expect(smppStatusLabel(0x58)).toBe('ESME_RTHROTTLED (0x58)');
    expect(smppStatusLabel(0x400)).toBe('0x400');
  });
});

describe('CarrierError', () => {
  it('carries type, carrier and status, and serializes only whitelisted fields', () => {
    const err = new CarrierError(CarrierErrorType.THROTTLED, 'smsc-a', 'submit_sm refused', {
      commandStatus: 0x58,
      retryAfterMs: 1000,
      cause: new Error('+4915112345678 secret body'),
    });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('CarrierError');
    expect(err.message).toBe('smsc-a: submit_sm refused');
    expect(isCarrierError(err)).toBe(true);
    expect(isCarrierError({ name: 'CarrierError', type: 'nope' })).toBe(false);
    const json = JSON.stringify(err);
    expect(json).not.toContain('4915112345678');
    expect(JSON.parse(json)).toMatchObject({ type: 'CARRIER_THROTTLED', commandStatus: 0x58 });
  });
});

describe('parseReceiptText', () => {
  it('parses the SMPP appendix B format', () => {
    expect(
      parseReceiptText(
        'id:abc123 sub:001 dlvrd:001 submit date:2401311159 done date:2401311200 stat:DELIVRD err:000 text:Your code is 1234',
      ),
    ).toEqual({
      carrierMessageId: 'abc123',
      status: 'delivered',
      errorCode: '000',
      doneAt: '2024-01-31T12:00:00.000Z',
    });
  });

  it.each([
    ['UNDELIV', 'undeliverable'],
    ['EXPIRED', 'expired'],
    ['REJECTD', 'rejected'],
    ['UNKNOWN', 'unknown'],
    ['DELETED', 'deleted'],
    ['ACCEPTD', 'accepted'],
    ['WHATEVER', 'unknown'],
  ])('maps stat:%s to %s', (stat, status) => {
    expect(parseReceiptText(`id:1 stat:${stat} err:012`).status).toBe(status);
  });

  it('is case-insensitive, accepts seconds in dates and ignores fields inside text:', () => {
    const r = parseReceiptText(
      'ID:0A1B Sub:001 DONE DATE:240131120005 Stat:undeliv Err:0x0b Text:stat:DELIVRD id:zzz',
    );
    expect(r).toEqual({
      carrierMessageId: '0A1B',
      status: 'undeliverable',
      errorCode: '0x0b',
      doneAt: '2024-01-31T12:00:05.000Z',
    });
  });

  it('omits a malformed done date and throws without an id (message free of content)', () => {
    expect(parseReceiptText('id:9 done date:2413999999 stat:DELIVRD').doneAt).toBeUndefined();
    expect(() => parseReceiptText('stat:DELIVRD text:+4915112345678')).toThrow(
      'delivery receipt text has no id field',
    );
  });

  it('parses receipt dates strictly', () => {
    expect(parseReceiptDate('2402291200')).toBe('2024-02-29T12:00:00.000Z');
    expect(parseReceiptDate('2302291200')).toBeUndefined();
    expect(parseReceiptDate('24')).toBeUndefined();
  });
});

describe('statusFromMessageState', () => {
  it('maps SMPP message_state values', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9].map(statusFromMessageState)).toEqual([
      'accepted',
      'delivered',
      'expired',
      'deleted',
      'undeliverable',
      'accepted',
      'unknown',
      'rejected',
      'unknown',
    ]);
  });
});
