-- Up Migration
-- Erasure that reaches messages in flight, and the purge backstop (README "Retention, purge and erasure").

-- The subject of an erasure (keyed token only) at its tenant, written by the API in the transaction
-- that records the erasure, before its workflow starts. Every step before dispatch (tokenize, the
-- carrier submit) looks here and ends a message accepted before `created_at` without sending it.
-- Kept like an opt-out (a keyed hash): a message accepted in the same instant as the erasure request
-- may be tokenized after the erasure completed, and must still be stopped.
CREATE TABLE erasure_tombstones (
  erasure_id        text PRIMARY KEY REFERENCES erasures (id),
  tenant            text NOT NULL,
  subscriber_token  text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX erasure_tombstones_subject ON erasure_tombstones (tenant, subscriber_token);

-- The erasure that stops a message, if any: one of its subject at its tenant recorded at or after
-- the message was accepted (the accept's own clock, message_charges, when the API admitted it). One
-- definition for tokenize and the carrier submit.
CREATE FUNCTION erasure_stopping(message_id text, tenant text, subscriber_token text, accepted_at timestamptz)
RETURNS text LANGUAGE sql STABLE AS $$
  SELECT t.erasure_id FROM erasure_tombstones t
   WHERE t.tenant = erasure_stopping.tenant AND t.subscriber_token = erasure_stopping.subscriber_token
     AND t.created_at >= coalesce((SELECT c.created_at FROM message_charges c
                                    WHERE c.message_id = erasure_stopping.message_id), accepted_at)
   ORDER BY t.created_at LIMIT 1
$$;

-- The erasure that stopped a message at tokenize: it holds no ciphertext, and that erasure purges it.
ALTER TABLE messages ADD COLUMN erased_by text;
CREATE INDEX messages_erased_by ON messages (erased_by) WHERE erased_by IS NOT NULL AND purged_at IS NULL;

-- When an accepted message left intake: tokenized, or found ended before it could be. Until then the
-- subscriber is unknown (the number is encrypted in the outbox or the workflow input), so an erasure
-- waits for the tenant's messages still in intake. The partial index holds only those.
ALTER TABLE message_charges ADD COLUMN intake_ended_at timestamptz;
UPDATE message_charges c SET intake_ended_at = now()
 WHERE EXISTS (SELECT 1 FROM messages m WHERE m.id = c.message_id);
CREATE INDEX message_charges_in_intake ON message_charges (tenant, created_at) WHERE intake_ended_at IS NULL;

-- How many of the tenant's messages an erasure is still waiting for (in intake, accepted before it).
ALTER TABLE erasures ADD COLUMN messages_pending integer NOT NULL DEFAULT 0;

-- Down Migration
ALTER TABLE erasures DROP COLUMN messages_pending;
DROP INDEX message_charges_in_intake;
ALTER TABLE message_charges DROP COLUMN intake_ended_at;
DROP INDEX messages_erased_by;
ALTER TABLE messages DROP COLUMN erased_by;
DROP FUNCTION erasure_stopping(text, text, text, timestamptz);
DROP TABLE erasure_tombstones;
