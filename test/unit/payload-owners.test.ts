import { belongsTo, payloadReferences } from '../../domain/payload-owners';

const A = 'msg_01HZZZZZZZZZZZZZZZZZZZZZZA';
const B = 'msg_01HZZZZZZZZZZZZZZZZZZZZZZB';

describe('whose a decoded payload is (the codec server scopes operators by it)', () => {
  test('finds tenant fields and message ids at any depth, each once', () => {
    expect(
      payloadReferences([
        { messageId: A, tenant: 'acme', nested: { ids: [A, B], tenant: 'acme' } },
        'not an id',
        { note: 'msg_lowercase' },
      ]),
    ).toEqual({ tenants: ['acme'], messageIds: [A, B] });
    expect(payloadReferences({ status: 'delivered' })).toEqual({ tenants: [], messageIds: [] });
  });

  test("a payload is an operator's only when everything it names is that tenant's", () => {
    const owners = new Map([
      [A, 'acme'],
      [B, 'other'],
    ]);
    expect(belongsTo({ tenants: ['acme'], messageIds: [A] }, owners, 'acme')).toBe(true);
    expect(belongsTo({ tenants: [], messageIds: [A] }, owners, 'acme')).toBe(true);
    expect(belongsTo({ tenants: ['acme'], messageIds: [A, B] }, owners, 'acme')).toBe(false);
    expect(belongsTo({ tenants: ['acme', 'other'], messageIds: [] }, owners, 'acme')).toBe(false);
    expect(belongsTo({ tenants: ['acme'], messageIds: [A] }, owners, 'other')).toBe(false);
    // An unknown message, or a payload that names nobody, is withheld.
    expect(belongsTo({ tenants: [], messageIds: ['msg_unknown'] }, owners, 'acme')).toBe(false);
    expect(belongsTo({ tenants: [], messageIds: [] }, owners, 'acme')).toBe(false);
  });
});
