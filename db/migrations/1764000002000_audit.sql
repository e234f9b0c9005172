-- Up Migration
-- The audit log (DESIGN.md invariant 4): every read of personal or pseudonymized data, every key use
-- and every erasure request leaves one row. Hash-chained and append-only:
--   hash = sha256 hex of the UTF-8 string
--     prev_hash|seq|at|actor|tenant|action|subject|detail
--   at      ISO 8601 UTC with microseconds, e.g. 2026-01-02T03:04:05.123456Z
--   tenant, subject: '' when NULL (a present value is never '')
--   detail  the jsonb value rendered by PostgreSQL (detail::text: keys ordered by length then bytes,
--           ", " and ": " separators); the verifier reads exactly that rendering
--   the first entry's prev_hash is 64 zeros.
-- Text fields cannot contain '|', so the string splits back into its fields one way only.
-- db/audit.ts holds the writer (audit_append, below) and the verifier. A removed TAIL cannot be seen
-- from inside the table: operators anchor latestAuditHead() somewhere else and verify against it.
--
-- Everything below is created in current_schema() and the function pins that schema, so the same
-- DDL can build a scratch copy in another schema (the tamper tests do: search_path = that schema).
SELECT set_config('search_path', quote_ident(current_schema()), true);

CREATE TABLE audit_log (
  seq        bigserial PRIMARY KEY,
  at         timestamptz NOT NULL DEFAULT now(),
  actor      text NOT NULL CHECK (actor <> '' AND strpos(actor, '|') = 0),    -- api key id, 'system:worker', 'operator:<key id>'
  tenant     text CHECK (tenant <> '' AND strpos(tenant, '|') = 0),
  action     text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_.:-]*$'),            -- 'message.read', 'codec.decode', ...
  subject    text CHECK (subject <> '' AND strpos(subject, '|') = 0),         -- message / task / erasure id, never personal data
  detail     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(detail) = 'object'), -- no personal values
  prev_hash  text NOT NULL UNIQUE CHECK (prev_hash ~ '^[0-9a-f]{64}$'),       -- UNIQUE: the chain cannot fork
  hash       text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$')
);
CREATE INDEX audit_log_subject ON audit_log (subject, seq);
CREATE INDEX audit_log_tenant_at ON audit_log (tenant, at);

-- Append-only: UPDATE, DELETE and TRUNCATE raise, for the app role too. Only the table owner can
-- disable the trigger (ALTER TABLE ... DISABLE TRIGGER), and the chain shows what it then changed.
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path FROM CURRENT
AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', tg_op USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_append_only
  BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

-- Appends one entry in one round trip. The advisory lock (per table copy) serializes appenders until
-- their transaction ends; seq is drawn under the lock, so seq order is chain order. Needs READ
-- COMMITTED (a repeatable-read snapshot could miss the latest entry; UNIQUE (prev_hash) would then
-- refuse the fork anyway).
CREATE FUNCTION audit_append(
  p_actor text, p_tenant text, p_action text, p_subject text, p_detail jsonb DEFAULT '{}'
) RETURNS TABLE (seq bigint, hash text)
  LANGUAGE plpgsql VOLATILE
  SET search_path FROM CURRENT
AS $$
#variable_conflict use_column
DECLARE
  v_detail jsonb := coalesce(p_detail, '{}'::jsonb);
  v_prev   text;
  v_seq    bigint;
  v_at     timestamptz;
  v_hash   text;
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'audit_append needs READ COMMITTED, not %', current_setting('transaction_isolation')
      USING ERRCODE = 'invalid_transaction_state';
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext('audit_log'), 'audit_log'::regclass::oid::int4);
  SELECT l.hash INTO v_prev FROM audit_log l ORDER BY l.seq DESC LIMIT 1;
  v_prev := coalesce(v_prev, repeat('0', 64));
  v_seq := nextval(pg_get_serial_sequence('audit_log', 'seq'));
  v_at := clock_timestamp();
  v_hash := encode(sha256(convert_to(
    v_prev || '|' || v_seq::text || '|'
      || to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '|'
      || p_actor || '|' || coalesce(p_tenant, '') || '|' || p_action || '|'
      || coalesce(p_subject, '') || '|' || v_detail::text,
    'UTF8')), 'hex');
  INSERT INTO audit_log (seq, at, actor, tenant, action, subject, detail, prev_hash, hash)
    VALUES (v_seq, v_at, p_actor, p_tenant, p_action, p_subject, v_detail, v_prev, v_hash);
  RETURN QUERY SELECT v_seq, v_hash;
END
$$;

-- Down Migration
DROP FUNCTION audit_append(text, text, text, text, jsonb);
DROP TABLE audit_log;
DROP FUNCTION audit_log_refuse_change();
