-- Up Migration
-- Each tenant's secrets for signing its status callbacks (clients/callback-secrets.ts). A secret must be
-- usable to sign, so it is sealed (AES-256-GCM under a data key wrapped by the codec's transit key,
-- bound to its tenant and id), never hashed. Rotation makes a new current secret (retires_at null) and
-- gives the previous ones a retires_at at the end of the overlap; until then callbacks carry both
-- signatures.
CREATE TABLE callback_signing_secrets (
  id          text PRIMARY KEY,
  tenant      text NOT NULL,
  sealed      text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  retires_at  timestamptz
);
CREATE INDEX callback_signing_secrets_tenant ON callback_signing_secrets (tenant, created_at DESC);
-- The API caches "this tenant has a secret" (db/config-cache.ts).
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON callback_signing_secrets FOR EACH STATEMENT EXECUTE FUNCTION notify_config_changed();

-- Down Migration
DROP TABLE callback_signing_secrets;
