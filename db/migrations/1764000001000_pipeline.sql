-- Up Migration
-- The send pipeline: API keys, redacted message metadata and history, the dispatch journal,
-- and sender-number pools.

-- API keys: only a SHA-256 of the secret is stored; the secret is shown once when created.
CREATE TABLE api_keys (
  id          text PRIMARY KEY,
  tenant      text NOT NULL,
  key_hash    text NOT NULL UNIQUE,
  roles       text[] NOT NULL CHECK (roles <@ ARRAY['sender', 'reviewer', 'operator', 'dpo', 'admin']::text[]),
  label       text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz,
  revoked_at  timestamptz
);

ALTER TABLE messages
  ADD COLUMN campaign        text,
  ADD COLUMN recipient_hint  text,           -- calling code and last two digits only, e.g. +44•••••••••56
  ADD COLUMN sender          text,           -- our sender number or id (not personal data)
  ADD COLUMN carrier         text,
  ADD COLUMN attempts        integer NOT NULL DEFAULT 0,
  ADD COLUMN reason          text,           -- a reason code for failed/undelivered, never carrier free text
  ADD COLUMN callback_url    text,
  ADD COLUMN submitted_at    timestamptz,
  ADD COLUMN completed_at    timestamptz;

-- Status history of a message, for GET /v1/messages/:id. No personal values.
CREATE TABLE message_events (
  id          bigserial PRIMARY KEY,
  message_id  text NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  status      text NOT NULL,
  carrier     text,
  detail      text,
  at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX message_events_message ON message_events (message_id, at);

-- The dispatch journal: one row per part a carrier acknowledged. A retry reads it and never
-- submits those parts again; receipts find their message through (carrier, carrier_message_id).
CREATE TABLE dispatch_journal (
  message_id          text NOT NULL,
  carrier             text NOT NULL,
  part_index          integer NOT NULL,
  carrier_message_id  text NOT NULL,
  acked_at            timestamptz NOT NULL DEFAULT now(),
  receipt_status      text,
  receipt_at          timestamptz,
  PRIMARY KEY (message_id, carrier, part_index)
);
CREATE UNIQUE INDEX dispatch_journal_carrier_id ON dispatch_journal (carrier, carrier_message_id);

-- Sender-number pools. country NULL = a fallback pool for any destination.
CREATE TABLE number_pools (
  id          text PRIMARY KEY,
  tenant      text NOT NULL,
  name        text NOT NULL,
  country     char(2),
  purpose     text NOT NULL CHECK (purpose IN ('otp', 'transactional', 'marketing')),
  strategy    text NOT NULL CHECK (strategy IN ('lru', 'sticky')),
  campaign    text,
  expires_at  timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant, name)
);

CREATE TABLE pool_numbers (
  id                 bigserial PRIMARY KEY,
  pool_id            text NOT NULL REFERENCES number_pools (id) ON DELETE CASCADE,
  number             text NOT NULL,
  status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'quarantined')),
  rate_per_second    numeric NOT NULL DEFAULT 1 CHECK (rate_per_second > 0),
  -- The next send slot: picking a number reserves a slot, so the rate cap holds across workers.
  next_available_at  timestamptz NOT NULL DEFAULT '-infinity',
  last_used_at       timestamptz,
  quarantined_at     timestamptz,
  quarantine_reason  text,
  UNIQUE (pool_id, number)
);
CREATE INDEX pool_numbers_pick ON pool_numbers (pool_id, status, next_available_at);

-- Sticky sender: a subscriber (by keyed token) keeps the same number of a pool while it is there.
CREATE TABLE sticky_senders (
  pool_id           text NOT NULL REFERENCES number_pools (id) ON DELETE CASCADE,
  subscriber_token  text NOT NULL,
  number_id         bigint NOT NULL REFERENCES pool_numbers (id) ON DELETE CASCADE,
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (pool_id, subscriber_token)
);

-- Down Migration
DROP TABLE sticky_senders;
DROP TABLE pool_numbers;
DROP TABLE number_pools;
DROP TABLE dispatch_journal;
DROP TABLE message_events;
ALTER TABLE messages
  DROP COLUMN campaign, DROP COLUMN recipient_hint, DROP COLUMN sender, DROP COLUMN carrier,
  DROP COLUMN attempts, DROP COLUMN reason, DROP COLUMN callback_url, DROP COLUMN submitted_at,
  DROP COLUMN completed_at;
DROP TABLE api_keys;
