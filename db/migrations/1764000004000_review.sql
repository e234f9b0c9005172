-- Up Migration
-- Human review for outsourced QA: review policies, review tasks (metadata and decision) and their
-- redacted content, kept apart so the purge can delete the content on its own.

-- One policy per tenant (campaign = '') and optionally per campaign; the campaign row wins.
CREATE TABLE review_policies (
  tenant               text NOT NULL,
  campaign             text NOT NULL DEFAULT '',
  -- Share of messages sampled at random, 0..1.
  sample_rate          numeric NOT NULL DEFAULT 0 CHECK (sample_rate >= 0 AND sample_rate <= 1),
  -- Always review the first N messages of a sender signature / template the tenant has not used before.
  first_n_new_signature integer NOT NULL DEFAULT 0 CHECK (first_n_new_signature >= 0),
  first_n_new_template  integer NOT NULL DEFAULT 0 CHECK (first_n_new_template >= 0),
  -- Always review a body (codes masked) containing one of these phrases (case-insensitive).
  flag_phrases         text[] NOT NULL DEFAULT '{}',
  mode                 text NOT NULL CHECK (mode IN ('pre_send', 'post_delivery')),
  sla_seconds          integer NOT NULL CHECK (sla_seconds > 0),
  default_decision     text NOT NULL CHECK (default_decision IN ('approve', 'reject')),
  updated_by           text NOT NULL,
  updated_at           timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, campaign)
);

-- How many messages each sender signature / template fingerprint has had, per tenant (for the
-- "first N" rules). The fingerprint is a SHA-256 of the template with every digit replaced.
CREATE TABLE review_seen (
  tenant       text NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('signature', 'template')),
  fingerprint  text NOT NULL,
  seen         integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, kind, fingerprint)
);

-- A review task: routing, lease and decision. No personal value: the message id links the task to
-- its workflow and is never shown to a reviewer.
CREATE TABLE review_tasks (
  id                text PRIMARY KEY,
  message_id        text NOT NULL,
  tenant            text NOT NULL,
  mode              text NOT NULL CHECK (mode IN ('pre_send', 'post_delivery')),
  status            text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'decided', 'defaulted', 'cancelled')),
  lease_holder      text,
  lease_expires_at  timestamptz,
  verdict           text CHECK (verdict IN ('approve', 'reject')),
  reason_code       text,
  note_masked       text,
  decided_by        text,
  default_applied   boolean NOT NULL DEFAULT false,
  created_at        timestamptz NOT NULL DEFAULT now(),
  due_at            timestamptz NOT NULL,
  decided_at        timestamptz,
  UNIQUE (message_id, mode)
);
CREATE INDEX review_tasks_queue ON review_tasks (tenant, status, created_at);

-- What a reviewer reads, and only while holding the task's lease. Personal-adjacent (a per-task
-- pseudonym and the body with codes masked): deleted as soon as the task is closed, and by the purge.
CREATE TABLE review_task_content (
  task_id            text PRIMARY KEY REFERENCES review_tasks (id) ON DELETE CASCADE,
  pseudonym          text NOT NULL,
  country            char(2) NOT NULL,
  carrier            text,
  sender_id          text,
  sender_signature   text,
  body_masked        text NOT NULL,
  encoding           text NOT NULL,
  segments           integer NOT NULL,
  delivery_outcome   text
);

-- Down Migration
DROP TABLE review_task_content;
DROP TABLE review_tasks;
DROP TABLE review_seen;
DROP TABLE review_policies;
