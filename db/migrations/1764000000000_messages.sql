-- Up Migration
-- One row per accepted message: redacted metadata only (what billing, audit and status need).
CREATE TABLE messages (
  id            text PRIMARY KEY CHECK (id ~ '^msg_[0-9A-HJKMNP-TV-Z]{26}$'),
  tenant        text NOT NULL,
  purpose       text NOT NULL CHECK (purpose IN ('otp', 'transactional', 'marketing')),
  country       char(2),
  region        text NOT NULL,
  encoding      text NOT NULL CHECK (encoding IN ('GSM7', 'UCS2')),
  segments      integer NOT NULL CHECK (segments BETWEEN 1 AND 10),
  status        text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_tenant_created ON messages (tenant, created_at DESC);

-- The personal data of a message, only as Vault transit ciphertext plus the keyed subscriber token.
-- Deleted by the purge; nothing else references the plaintext.
CREATE TABLE message_secrets (
  message_id        text PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
  subscriber_token  text NOT NULL,
  number_ciphertext text NOT NULL,
  body_ciphertext   text NOT NULL,
  transit_key       text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX message_secrets_subscriber ON message_secrets (subscriber_token);

-- Down Migration
DROP TABLE message_secrets;
DROP TABLE messages;
