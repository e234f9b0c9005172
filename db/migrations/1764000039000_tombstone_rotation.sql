-- Up Migration
-- Erasure tombstones that survive a subscriber-token rotation. A tombstone now keeps its subject's
-- number sealed under the subject's region key (like an opt-out), so `npm run tokens -- rotate`
-- re-derives its token; the tokens it held before stay in `previous_tokens`, so a message whose
-- stored token is of the generation before still matches while the rotation runs. A tombstone is
-- dropped (with its sealed number) once no message accepted before it can still be sent: see
-- db/privacy.ts dropExpiredTombstones.
ALTER TABLE erasure_tombstones
  ADD COLUMN number_ciphertext text,
  ADD COLUMN transit_key text,
  ADD COLUMN previous_tokens text[] NOT NULL DEFAULT '{}';

-- The erasure that stops a message, given every live token of the recipient (tokenize derives them
-- all from the number): a tombstone matches on its current token or one it held before a rotation.
CREATE FUNCTION erasure_stopping_any(message_id text, tenant text, subscriber_tokens text[], accepted_at timestamptz)
RETURNS text LANGUAGE sql STABLE AS $$
  SELECT t.erasure_id FROM erasure_tombstones t
   WHERE t.tenant = erasure_stopping_any.tenant
     AND (t.subscriber_token = ANY (erasure_stopping_any.subscriber_tokens)
          OR t.previous_tokens && erasure_stopping_any.subscriber_tokens)
     AND t.created_at >= coalesce((SELECT c.created_at FROM message_charges c
                                    WHERE c.message_id = erasure_stopping_any.message_id), accepted_at)
   ORDER BY t.created_at LIMIT 1
$$;

-- The same, given the recipient's one stored token (the carrier submit).
CREATE OR REPLACE FUNCTION erasure_stopping(message_id text, tenant text, subscriber_token text, accepted_at timestamptz)
RETURNS text LANGUAGE sql STABLE AS $$
  SELECT erasure_stopping_any(message_id, tenant, ARRAY[subscriber_token], accepted_at)
$$;

-- Down Migration
CREATE OR REPLACE FUNCTION erasure_stopping(message_id text, tenant text, subscriber_token text, accepted_at timestamptz)
RETURNS text LANGUAGE sql STABLE AS $$
  SELECT t.erasure_id FROM erasure_tombstones t
   WHERE t.tenant = erasure_stopping.tenant AND t.subscriber_token = erasure_stopping.subscriber_token
     AND t.created_at >= coalesce((SELECT c.created_at FROM message_charges c
                                    WHERE c.message_id = erasure_stopping.message_id), accepted_at)
   ORDER BY t.created_at LIMIT 1
$$;
DROP FUNCTION erasure_stopping_any(text, text, text[], timestamptz);
ALTER TABLE erasure_tombstones DROP COLUMN previous_tokens, DROP COLUMN transit_key, DROP COLUMN number_ciphertext;
