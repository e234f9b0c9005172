-- Up Migration
-- Subscriber tokens per tenant and generation (clients/subscriber-token.ts). A tenant uses the
-- generations of its own scope once it has been rotated on its own, else those of scope '*'.
-- Generation 0 is the legacy token (one transit HMAC of the number for every tenant); it stays live,
-- and is matched by lookups, only while rows hold it: the first rotation (npm run tokens) re-derives
-- them and retires it. Generation 1 pins version 1 of the `subscriber-token` transit key.
CREATE TABLE subscriber_token_generations (
  scope              text NOT NULL,            -- a tenant, or '*' for every tenant without its own
  generation         integer NOT NULL CHECK (generation >= 0),
  vault_key_version  integer CHECK ((generation = 0) = (vault_key_version IS NULL)),
  created_at         timestamptz NOT NULL DEFAULT now(),
  retired_at         timestamptz,
  PRIMARY KEY (scope, generation)
);
INSERT INTO subscriber_token_generations (scope, generation, vault_key_version, retired_at)
VALUES ('*', 0, NULL, CASE WHEN EXISTS (SELECT 1 FROM opt_outs) OR EXISTS (SELECT 1 FROM sticky_senders)
                                OR EXISTS (SELECT 1 FROM message_secrets)
                           THEN NULL ELSE now() END),
       ('*', 1, 1, NULL);

-- What a rotation needs to re-derive a token: the number, sealed under its region's transit key
-- (as message_secrets holds it). Rows written before this have none; they are filled from a message
-- of the same subject where one still holds its number, and otherwise cannot be re-derived (the
-- rotation reports them and keeps generation 0 live until they are gone).
ALTER TABLE opt_outs ADD COLUMN number_ciphertext text, ADD COLUMN transit_key text,
  ADD CONSTRAINT opt_outs_sealed CHECK ((number_ciphertext IS NULL) = (transit_key IS NULL));
ALTER TABLE sticky_senders ADD COLUMN number_ciphertext text, ADD COLUMN transit_key text,
  ADD CONSTRAINT sticky_senders_sealed CHECK ((number_ciphertext IS NULL) = (transit_key IS NULL));
UPDATE opt_outs o SET number_ciphertext = s.number_ciphertext, transit_key = s.transit_key
  FROM (SELECT DISTINCT ON (subscriber_token) subscriber_token, number_ciphertext, transit_key
          FROM message_secrets ORDER BY subscriber_token) s
 WHERE s.subscriber_token = o.subscriber_token AND o.number_ciphertext IS NULL;
UPDATE sticky_senders o SET number_ciphertext = s.number_ciphertext, transit_key = s.transit_key
  FROM (SELECT DISTINCT ON (subscriber_token) subscriber_token, number_ciphertext, transit_key
          FROM message_secrets ORDER BY subscriber_token) s
 WHERE s.subscriber_token = o.subscriber_token AND o.number_ciphertext IS NULL;

-- The subject of a running erasure, as its live tokens, so the workflow's input (which operators
-- decode) holds none; cleared when the erasure completes.
ALTER TABLE erasures ADD COLUMN subject_tokens text[];

-- Down Migration
ALTER TABLE erasures DROP COLUMN subject_tokens;
ALTER TABLE sticky_senders DROP CONSTRAINT sticky_senders_sealed, DROP COLUMN number_ciphertext, DROP COLUMN transit_key;
ALTER TABLE opt_outs DROP CONSTRAINT opt_outs_sealed, DROP COLUMN number_ciphertext, DROP COLUMN transit_key;
DROP TABLE subscriber_token_generations;
