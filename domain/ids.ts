/**
 * Message ids, which are also the ids of their SendMessage workflows: `msg_` followed by a
 * ULID (26 Crockford base32 characters). They carry no personal data, so they are safe in
 * workflow ids, logs, metrics and URLs.
 */

/** Prefix of every message id; lets a workflow id be recognised as a message workflow. */
export const MESSAGE_ID_PREFIX = 'msg_';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
// A ULID encodes 128 bits in 26 characters, so its first character is at most 7.
const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;
const MESSAGE_ID = /^msg_[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

// Bump only with a migration plan: a new version maps every retried POST to a new id, so a
// retry that straddles the deploy would send twice.
const IDEMPOTENCY_DOMAIN = 'sms-pipeline/idempotency/v1';

/**
 * A fresh message id. The ULID generator is injected so domain code stays pure (and tests
 * deterministic); pass `ulid` from the `ulid` package, or a monotonic factory.
 *
 * @throws TypeError if the generator returns anything but a canonical upper-case ULID.
 */
export function newMessageId(ulid: () => string): string {
  const value = ulid();
  if (!ULID.test(value)) throw new TypeError('ulid() did not return a canonical ULID');
  return MESSAGE_ID_PREFIX + value;
}

/**
 * True for a well-formed message id. Only the canonical upper-case form is accepted: workflow
 * ids are case-sensitive, so `msg_01h…` and `msg_01H…` would be two different workflows.
 */
export function isMessageId(value: unknown): value is string {
  return typeof value === 'string' && MESSAGE_ID.test(value);
}

/**
 * The message id for a client's `Idempotency-Key`, so a retried POST starts (or finds) the
 * same workflow instead of sending twice. Scoped by tenant: two tenants using the same key get
 * different ids. `hash` must be a cryptographic hash returning hex (callers pass SHA-256 hex);
 * it is injected to keep this module free of I/O and Node built-ins.
 *
 * The id is ULID-shaped (the first 128 bits of the hash) so everything that validates message
 * ids accepts it, but its time prefix is meaningless: never read a timestamp from a message id.
 *
 * @throws TypeError for an empty tenant or key, or a hash result shorter than 32 hex digits.
 */
export function messageIdFromIdempotencyKey(
  tenant: string,
  key: string,
  hash: (s: string) => string,
): string {
  if (tenant.length === 0 || key.length === 0) {
    throw new TypeError('tenant and idempotency key must not be empty');
  }
  // Length-prefixing the tenant keeps ("a:b", "c") and ("a", "b:c") apart.
  const digest = hash(`${IDEMPOTENCY_DOMAIN}\n${tenant.length}:${tenant}\n${key}`);
  if (!/^[0-9a-fA-F]{32,}$/.test(digest)) {
    throw new TypeError('hash must return at least 32 hexadecimal digits');
  }
  return MESSAGE_ID_PREFIX + crockford128(BigInt(`0x${digest.slice(0, 32)}`));
}

/**
 * The workflow id of a message's SendMessage workflow: the message id itself, validated so a
 * raw client value can never become a workflow id.
 *
 * @throws TypeError if `messageId` is not a message id.
 */
export function messageWorkflowId(messageId: string): string {
  if (!isMessageId(messageId)) throw new TypeError('not a message id');
  return messageId;
}

/** Inverse of {@link messageWorkflowId}: the message id, or undefined for any other workflow. */
export function messageIdFromWorkflowId(workflowId: string): string | undefined {
  return isMessageId(workflowId) ? workflowId : undefined;
}

function crockford128(value: bigint): string {
  let out = '';
  let rest = value;
  for (let i = 0; i < 26; i++) {
    out = CROCKFORD.charAt(Number(rest & 31n)) + out;
    rest >>= 5n;
  }
  return out;
}
