-- Up Migration
-- The keyed fingerprint of each accepted request (clients/request-fingerprint.ts: HMAC-SHA256 under a
-- key derived from Vault, `fp<key version>.<hex>`), kept with the charge and nowhere else: not in the
-- workflow input, not in the status query. A retried POST with the same Idempotency-Key is compared
-- with it, also after the message's history is purged; an erasure clears it. Null for messages
-- accepted before it was kept here (they cannot be compared, and get the same answer).
ALTER TABLE message_charges ADD COLUMN request_fingerprint text
  CHECK (request_fingerprint ~ '^fp[0-9]+\.[0-9a-f]{64}$');

-- Down Migration
ALTER TABLE message_charges DROP COLUMN request_fingerprint;
