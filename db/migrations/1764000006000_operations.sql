-- Up Migration
-- Operations: what the anomaly detector reads (dispatch outcomes, per-key API volume) and keeps
-- (EWMA baselines, episodes, alerts). No personal values: carriers, countries, our sender numbers,
-- API key ids, tenants.

-- One row per carrier submit outcome, and per message a carrier reported undelivered.
CREATE TABLE dispatch_outcomes (
  id          bigserial PRIMARY KEY,
  message_id  text NOT NULL,
  tenant      text NOT NULL,
  carrier     text NOT NULL,
  sender      text,           -- our sender number or id (not personal data)
  country     char(2),
  outcome     text NOT NULL CHECK (outcome IN ('submitted', 'rejected', 'undelivered')),
  error_type  text,
  at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dispatch_outcomes_at ON dispatch_outcomes (at);

-- API requests per key and minute (the key id, never the secret).
CREATE TABLE api_key_volume (
  key_id    text NOT NULL,
  tenant    text NOT NULL,
  minute    timestamptz NOT NULL,
  requests  integer NOT NULL DEFAULT 0,
  PRIMARY KEY (key_id, minute)
);
CREATE INDEX api_key_volume_minute ON api_key_volume (minute);

-- The EWMA baseline of one series (kind: carrier_failure, country_failure, sender_failure, key_volume)
-- of one detector, and whether an anomaly episode is open (one alert per episode).
CREATE TABLE anomaly_baselines (
  detector            text NOT NULL,
  kind                text NOT NULL,
  subject             text NOT NULL,
  mean                double precision NOT NULL,
  variance            double precision NOT NULL,
  samples             integer NOT NULL,
  episode_started_at  timestamptz,
  updated_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (detector, kind, subject)
);

-- Up to where each detector has evaluated (its windows never overlap or leave gaps).
CREATE TABLE anomaly_watermarks (
  detector         text PRIMARY KEY,
  evaluated_until  timestamptz NOT NULL
);

CREATE TABLE anomaly_alerts (
  id           bigserial PRIMARY KEY,
  detector     text NOT NULL,
  kind         text NOT NULL,
  subject      text NOT NULL,
  value        double precision NOT NULL,
  baseline     double precision NOT NULL,
  volume       integer NOT NULL,
  quarantined  text[] NOT NULL DEFAULT '{}',
  raised_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX anomaly_alerts_detector ON anomaly_alerts (detector, raised_at);

-- Down Migration
DROP TABLE anomaly_alerts;
DROP TABLE anomaly_watermarks;
DROP TABLE anomaly_baselines;
DROP TABLE api_key_volume;
DROP TABLE dispatch_outcomes;
