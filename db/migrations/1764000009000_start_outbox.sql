-- Up Migration
-- Accepted messages whose workflow is not started yet (the transactional outbox of POST /v1/messages).
-- A row is written in the same transaction as the message's charge and quota, so a 202 never depends
-- on Temporal answering in time; the API's start relay (api/start-relay.ts) starts the workflow and
-- deletes the row. The start arguments hold the recipient and the text, so they are stored as the
-- Temporal payloads the codec encrypted (AES-256-GCM under a Vault-wrapped data key), never readable.
CREATE TABLE workflow_starts (
  message_id         text PRIMARY KEY,
  tenant             text NOT NULL,
  workflow_type      text NOT NULL,
  task_queue         text NOT NULL,
  args               bytea NOT NULL,             -- temporal.api.common.v1.Payloads, codec-encrypted
  search_attributes  jsonb NOT NULL,             -- status, tenant, purpose, country, region: no personal data
  created_at         timestamptz NOT NULL DEFAULT now(),
  lease_until        timestamptz NOT NULL DEFAULT '-infinity',   -- a relay is starting it until then
  attempts           integer NOT NULL DEFAULT 0,
  last_error         text                        -- the error's name and gRPC code only
);
CREATE INDEX workflow_starts_due ON workflow_starts (lease_until, created_at);

-- Refuses a message from inside the one statement that admits it (db/sending-policy.ts): raising
-- aborts the statement, so its charge, counters and workflow start are all undone. VOLATILE, so the
-- planner never evaluates it ahead of the CASE branch that calls it.
CREATE FUNCTION admission_refused(reason text) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = reason;
END
$$;

-- Down Migration
DROP FUNCTION admission_refused(text);
DROP TABLE workflow_starts;
