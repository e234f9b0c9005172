-- Up Migration
-- The personal data of an accepted message (number and text), sealed by the API under its region's
-- key (`sms-<region>`, envelope encryption: `env1.<wrapped data key>.<AES-256-GCM>`) and written in
-- the statement that admits it (db/sending-policy.ts). The API may seal under a region key but never
-- open one, and the workflow input carries only the message id: the region's worker opens the row in
-- its tokenize activity, moves the ciphertexts to message_secrets and deletes the row. So no process
-- outside the region, and nothing in Temporal, can read them.
CREATE TABLE message_intake (
  message_id         text PRIMARY KEY,
  tenant             text NOT NULL,
  region             text NOT NULL,
  transit_key        text NOT NULL,
  number_ciphertext  text NOT NULL,
  body_ciphertext    text NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE message_intake;
