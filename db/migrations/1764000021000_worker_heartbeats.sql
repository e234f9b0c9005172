-- Up Migration
-- One row per worker process (its Temporal identity), written every few seconds while it polls
-- (db/worker-heartbeats.ts). The API reads it to tell a message that waits for a region nobody
-- polls (GET /v1/messages/:id, the waiting gauge) without calling Temporal; the anomaly detector
-- alerts when a region's task queue has had no live worker for a minute. No personal data.
CREATE TABLE worker_heartbeats (
  identity    text PRIMARY KEY,
  region      text NOT NULL,
  task_queue  text NOT NULL,
  started_at  timestamptz NOT NULL DEFAULT now(),
  seen_at     timestamptz NOT NULL DEFAULT now(),
  stopped_at  timestamptz                       -- set by a graceful shutdown
);
CREATE INDEX worker_heartbeats_queue ON worker_heartbeats (task_queue, seen_at DESC);

-- Unfinished messages per region (the waiting gauge, the reads of a region without a worker).
CREATE INDEX messages_unfinished ON messages (region, created_at)
  WHERE completed_at IS NULL AND purged_at IS NULL;

-- Down Migration
DROP INDEX messages_unfinished;
DROP TABLE worker_heartbeats;
