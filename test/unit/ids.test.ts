import { createHash } from 'node:crypto';
import {
  isMessageId,
  MESSAGE_ID_PREFIX,
  messageIdFromIdempotencyKey,
  messageIdFromWorkflowId,
  messageWorkflowId,
  newMessageId,
} from '../../domain/ids';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const ULID = '01J9Z8K3M4N5P6Q7R8S9T0V1W2';

describe('newMessageId', () => {
  it('prefixes the generated ULID', () => {
    expect(newMessageId(() => ULID)).toBe(`msg_${ULID}`);
    expect(MESSAGE_ID_PREFIX).toBe('msg_');
  });

  it.each([
    '',
    'not-a-ulid',
    ULID.toLowerCase(),
    `${ULID}X`,
    '81J9Z8K3M4N5P6Q7R8S9T0V1W2',
    'I1J9Z8K3M4N5P6Q7R8S9T0V1W2',
  ])('refuses a generator returning %j', (value) => {
    expect(() => newMessageId(() => value)).toThrow(TypeError);
  });
});

describe('isMessageId', () => {
  it('accepts canonical ids only', () => {
    expect(isMessageId(`msg_${ULID}`)).toBe(true);
    expect(isMessageId(ULID)).toBe(false);
    expect(isMessageId(`msg_${ULID.toLowerCase()}`)).toBe(false);
    expect(isMessageId(`msg_${ULID}0`)).toBe(false);
    expect(isMessageId(`msg_U1J9Z8K3M4N5P6Q7R8S9T0V1W2`)).toBe(false);
    expect(isMessageId(42)).toBe(false);
    expect(isMessageId(undefined)).toBe(false);
  });
});

describe('messageIdFromIdempotencyKey', () => {
  it('is deterministic, so a retried POST maps to the same workflow', () => {
    const a = messageIdFromIdempotencyKey('tenant-a', 'order-42', sha256);
    expect(a).toBe(messageIdFromIdempotencyKey('tenant-a', 'order-42', sha256));
    expect(isMessageId(a)).toBe(true);
  });

  it('differs between keys and between tenants', () => {
    const ids = new Set([
      messageIdFromIdempotencyKey('tenant-a', 'order-42', sha256),
      messageIdFromIdempotencyKey('tenant-a', 'order-43', sha256),
      messageIdFromIdempotencyKey('tenant-b', 'order-42', sha256),
      messageIdFromIdempotencyKey('a:b', 'c', sha256),
      messageIdFromIdempotencyKey('a', 'b:c', sha256),
      messageIdFromIdempotencyKey('a\n1:b', 'c', sha256),
      messageIdFromIdempotencyKey('a', 'b\nc', sha256),
    ]);
    expect(ids.size).toBe(7);
  });

  it('encodes the first 128 bits of the hash in Crockford base32', () => {
    expect(messageIdFromIdempotencyKey('t', 'k', () => '0'.repeat(64))).toBe(
      `msg_${'0'.repeat(26)}`,
    );
    expect(messageIdFromIdempotencyKey('t', 'k', () => 'f'.repeat(64))).toBe(
      `msg_7${'Z'.repeat(25)}`,
    );
    expect(messageIdFromIdempotencyKey('t', 'k', () => `${'0'.repeat(31)}1${'f'.repeat(32)}`)).toBe(
      `msg_${'0'.repeat(25)}1`,
    );
    expect(messageIdFromIdempotencyKey('t', 'k', () => `${'0'.repeat(30)}20`)).toBe(
      `msg_${'0'.repeat(24)}10`,
    );
    expect(messageIdFromIdempotencyKey('t', 'k', () => 'ABCDEF'.repeat(6))).toBe(
      messageIdFromIdempotencyKey('t', 'k', () => 'abcdef'.repeat(6)),
    );
  });

  it('hashes the tenant and the key, never passing them through', () => {
    const seen: string[] = [];
    const id = messageIdFromIdempotencyKey('acme', 'secret-key', (s) => {
      seen.push(s);
      return sha256(s);
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toContain('acme');
    expect(seen[0]).toContain('secret-key');
    expect(id).not.toContain('acme');
  });

  it.each([
    ['an empty tenant', '', 'k', sha256],
    ['an empty key', 't', '', sha256],
    ['a short hash', 't', 'k', () => 'abc123'],
    ['a non-hex hash', 't', 'k', () => 'z'.repeat(64)],
    ['a base64 hash', 't', 'k', (s: string) => createHash('sha256').update(s).digest('base64')],
  ])('refuses %s', (_name, tenant, key, hash) => {
    expect(() => messageIdFromIdempotencyKey(tenant, key, hash)).toThrow(TypeError);
  });
});

describe('messageWorkflowId', () => {
  it('is the message id, and its inverse gives it back', () => {
    const id = `msg_${ULID}`;
    expect(messageWorkflowId(id)).toBe(id);
    expect(messageIdFromWorkflowId(messageWorkflowId(id))).toBe(id);
  });

  it('refuses anything that is not a message id', () => {
    expect(() => messageWorkflowId('+8613800138000')).toThrow(TypeError);
    expect(messageIdFromWorkflowId('purge_2024-05-12')).toBeUndefined();
  });
});
