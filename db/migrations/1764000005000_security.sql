-- Up Migration
-- Security: API key IP allowlists and usage, client certificates for mutual TLS, per-tenant send
-- quotas, and the seen signatures of inbound webhooks (replay refusal across API processes).

-- An optional IP allowlist per key (NULL = any address); usage is counted per key and hour window.
ALTER TABLE api_keys
  ADD COLUMN allowed_ips   cidr[],
  ADD COLUMN last_used_at  timestamptz;

-- Per-key request counters, one row per key and hour. The API adds its in-memory counts every few
-- seconds (never one write per request); the row's insertion is the "first use in this window"
-- that is audited once (api_key.used), whichever process saw it first.
CREATE TABLE api_key_usage (
  key_id        text NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
  window_start  timestamptz NOT NULL,
  requests      bigint NOT NULL DEFAULT 0 CHECK (requests >= 0),
  PRIMARY KEY (key_id, window_start)
);

-- Mutual TLS: a client certificate (by the SHA-256 fingerprint of its DER encoding) stands for one
-- API key, so its tenant, roles, expiry, revocation and IP allowlist all apply to the certificate too.
CREATE TABLE client_certificates (
  fingerprint_sha256  text PRIMARY KEY CHECK (fingerprint_sha256 ~ '^[0-9a-f]{64}$'),
  key_id              text NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
  label               text,
  created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX client_certificates_key ON client_certificates (key_id);

-- Send quotas: messages a tenant may send per UTC day. A tenant without a row gets the configured
-- default (SEND_QUOTA_PER_DAY). Usage is one counter row per tenant and day, raised atomically.
CREATE TABLE tenant_quotas (
  tenant         text PRIMARY KEY,
  sends_per_day  integer NOT NULL CHECK (sends_per_day >= 0),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE tenant_send_usage (
  tenant  text NOT NULL,
  day     date NOT NULL,
  sends   integer NOT NULL DEFAULT 0 CHECK (sends >= 0),
  PRIMARY KEY (tenant, day)
);

-- Signatures of accepted inbound webhooks (carrier receipts), each accepted once. A row outlives the
-- signature's tolerance window, after which the timestamp check refuses it anyway; expired rows are
-- deleted by the API as it goes.
CREATE TABLE webhook_signatures_seen (
  signature   text PRIMARY KEY,
  expires_at  timestamptz NOT NULL
);
CREATE INDEX webhook_signatures_seen_expiry ON webhook_signatures_seen (expires_at);

-- Down Migration
DROP TABLE webhook_signatures_seen;
DROP TABLE tenant_send_usage;
DROP TABLE tenant_quotas;
DROP TABLE client_certificates;
DROP TABLE api_key_usage;
ALTER TABLE api_keys DROP COLUMN allowed_ips, DROP COLUMN last_used_at;
