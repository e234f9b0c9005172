-- Up Migration
-- `platform-operator`: an operator whose codec view (api/routes/codec.ts) reaches every tenant's
-- payloads. A plain `operator` decodes only payloads that belong to its own tenant.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_roles_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_roles_check
  CHECK (roles <@ ARRAY['sender', 'reviewer', 'operator', 'dpo', 'admin', 'platform-operator']::text[]);

-- Down Migration
ALTER TABLE api_keys DROP CONSTRAINT api_keys_roles_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_roles_check
  CHECK (roles <@ ARRAY['sender', 'reviewer', 'operator', 'dpo', 'admin']::text[]);
