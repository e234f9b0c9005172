import * as smpp from 'smpp';
import { parseRawSm, tlvString, Tlv } from '../../../carriers/smpp/raw';
import { parseRetryAfter } from '../../../carriers/http/client';
import { parseHttpReceipt } from '../../../domain/receipts';

describe('parseRawSm', () => {
  it('reads the exact octets of a deliver_sm built by the smpp library', () => {
    const shortMessage = Buffer.from([0x05, 0x00, 0x03, 0x2a, 0x02, 0x01, 0x04, 0x30, 0x04, 0x31]);
    const pdu = new smpp.PDU('deliver_sm', {
      sequence_number: 7,
      source_addr_ton: 1,
      source_addr_npi: 1,
      source_addr: '4915112345678',
      destination_addr: '12345',
      esm_class: 0x40,
      data_coding: 8,
      short_message: shortMessage,
      receipted_message_id: 'abc',
      message_state: 2,
    });
    const buf = pdu.toBuffer();
    const sm = parseRawSm(buf.subarray(4));
    expect(sm).toMatchObject({
      sourceAddrTon: 1,
      sourceAddr: '4915112345678',
      destinationAddr: '12345',
      esmClass: 0x40,
      dataCoding: 8,
    });
    expect(sm.shortMessage.equals(shortMessage)).toBe(true);
    expect(tlvString(sm.tlvs.get(Tlv.RECEIPTED_MESSAGE_ID))).toBe('abc');
    expect(sm.tlvs.get(Tlv.MESSAGE_STATE)?.[0]).toBe(2);
  });

  it('throws on truncated bodies', () => {
    const buf = new smpp.PDU('submit_sm', {
      destination_addr: '1',
      short_message: Buffer.from('hello'),
    }).toBuffer();
    expect(() => parseRawSm(buf.subarray(4, buf.length - 3))).toThrow(RangeError);
  });
});

describe('HTTP carrier helpers', () => {
  it('parses Retry-After seconds and dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it('validates receipts without echoing values', () => {
    expect(
      parseHttpReceipt({ id: 'x1', status: 'delivered', doneAt: '2024-01-31T12:00:00Z' }),
    ).toEqual({
      carrierMessageId: 'x1',
      status: 'delivered',
      doneAt: '2024-01-31T12:00:00.000Z',
    });
    expect(() => parseHttpReceipt({ id: 'x1', status: '+4915112345678' })).toThrow(
      'receipt status is missing or invalid',
    );
    expect(() => parseHttpReceipt(null)).toThrow(TypeError);
  });
});
