-- Up Migration
-- Every API process caches the configuration rows its requests read (db/config-cache.ts), so that
-- accepting a message takes one round trip. These triggers tell every process when such a row
-- changes: pg_notify in the writing transaction, delivered as it commits. Statement-level, so a bulk
-- change notifies once; api_keys only for the columns a request reads (not last_used_at, which the
-- usage counters write every few seconds).
CREATE FUNCTION notify_config_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('config_changed', TG_TABLE_NAME);
  RETURN NULL;
END
$$;

CREATE TRIGGER config_changed AFTER INSERT OR DELETE OR TRUNCATE
  OR UPDATE OF id, tenant, key_hash, roles, expires_at, revoked_at, allowed_ips
  ON api_keys FOR EACH STATEMENT EXECUTE FUNCTION notify_config_changed();
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON client_certificates FOR EACH STATEMENT EXECUTE FUNCTION notify_config_changed();
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON country_rules FOR EACH STATEMENT EXECUTE FUNCTION notify_config_changed();
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON carrier_prices FOR EACH STATEMENT EXECUTE FUNCTION notify_config_changed();
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON spend_caps FOR EACH STATEMENT EXECUTE FUNCTION notify_config_changed();
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON review_policies FOR EACH STATEMENT EXECUTE FUNCTION notify_config_changed();

-- Down Migration
DROP TRIGGER config_changed ON review_policies;
DROP TRIGGER config_changed ON spend_caps;
DROP TRIGGER config_changed ON carrier_prices;
DROP TRIGGER config_changed ON country_rules;
DROP TRIGGER config_changed ON client_certificates;
DROP TRIGGER config_changed ON api_keys;
DROP FUNCTION notify_config_changed();
