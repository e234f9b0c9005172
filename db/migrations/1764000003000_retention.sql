-- Up Migration
-- Retention, purge and data-subject rights (README "Retention, purge and erasure").

-- When a finished message's personal data is due for purge, and when it was purged. The purge keeps
-- the row as a redacted billing record (tenant, purpose, country, segments, carrier, status, times).
ALTER TABLE messages
  ADD COLUMN purge_after   timestamptz,
  ADD COLUMN purged_at     timestamptz,
  ADD COLUMN purge_reason  text CHECK (purge_reason IN ('retention', 'erasure'));
-- The sweeper's work list: only rows still waiting for their purge are indexed.
CREATE INDEX messages_purge_due ON messages (region, purge_after) WHERE purged_at IS NULL AND purge_after IS NOT NULL;

-- Per-tenant overrides of the retention defaults (config RETENTION_*_SECONDS) and of the opt-out
-- policy. A missing row or NULL column means "the default".
CREATE TABLE tenant_privacy_policies (
  tenant                     text PRIMARY KEY,
  otp_retention_seconds      integer CHECK (otp_retention_seconds > 0),
  transactional_retention_seconds integer CHECK (transactional_retention_seconds > 0),
  marketing_retention_seconds integer CHECK (marketing_retention_seconds > 0),
  -- Whether one-time codes still reach a subscriber who opted out (NULL: config OPT_OUT_OTP_EXEMPT).
  otp_exempt_from_opt_out    boolean,
  updated_at                 timestamptz NOT NULL DEFAULT now()
);

-- The suppression list: a subscriber (keyed HMAC token only, never the number) who opted out of a
-- tenant's messages. Survives erasure: the token cannot be reversed without Vault.
CREATE TABLE opt_outs (
  id                bigserial PRIMARY KEY,
  tenant            text NOT NULL,
  subscriber_token  text NOT NULL,
  source            text NOT NULL CHECK (source IN ('api', 'mo')),
  created_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant, subscriber_token)
);

-- Erasure requests (POST /v1/subjects/erasure): the progress of one ErasureWorkflow. No personal
-- value, not even the subject's token (only the workflow's encrypted input holds it).
CREATE TABLE erasures (
  id                text PRIMARY KEY CHECK (id ~ '^era_[0-9A-HJKMNP-TV-Z]{26}$'),
  tenant            text NOT NULL,
  requested_by      text NOT NULL,
  status            text NOT NULL CHECK (status IN ('running', 'completed')),
  messages_found    integer NOT NULL DEFAULT 0,
  messages_cancelled integer NOT NULL DEFAULT 0,
  messages_purged   integer NOT NULL DEFAULT 0,
  created_at        timestamptz NOT NULL DEFAULT now(),
  completed_at      timestamptz
);

-- Down Migration
DROP TABLE erasures;
DROP TABLE opt_outs;
DROP TABLE tenant_privacy_policies;
DROP INDEX messages_purge_due;
ALTER TABLE messages DROP COLUMN purge_after, DROP COLUMN purged_at, DROP COLUMN purge_reason;
