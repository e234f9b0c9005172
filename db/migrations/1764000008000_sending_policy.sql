-- Up Migration
-- Sending policy: country rules against SMS pumping, OTP velocity per country, the price table,
-- per-tenant monthly spend caps and what each message was charged. No personal data anywhere here.

-- Per tenant and destination country: allow (default for unlisted countries), block or monitor,
-- plus an optional OTP velocity limit per window (OTP_VELOCITY_WINDOW_SECONDS, default a minute);
-- over the limit a message is refused (429) or held until a later window.
CREATE TABLE country_rules (
  tenant          text NOT NULL,
  country         char(2) NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
  action          text NOT NULL CHECK (action IN ('allow', 'block', 'monitor')),
  otp_per_window  integer CHECK (otp_per_window > 0),
  over_limit      text NOT NULL DEFAULT 'refuse' CHECK (over_limit IN ('refuse', 'hold')),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, country)
);

-- OTP messages accepted per tenant, country and window: an upsert with a WHERE on the count is the
-- atomic check-and-increment, so the limit holds across any number of API replicas.
CREATE TABLE otp_velocity (
  tenant        text NOT NULL,
  country       char(2) NOT NULL,
  window_start  timestamptz NOT NULL,
  count         integer NOT NULL CHECK (count > 0),
  PRIMARY KEY (tenant, country, window_start)
);

-- Price per segment by carrier and destination. tenant '*' = the platform's list, a tenant row
-- overrides it; country '*' = the carrier's price for countries without their own row.
CREATE TABLE carrier_prices (
  tenant             text NOT NULL DEFAULT '*',
  carrier            text NOT NULL,
  country            text NOT NULL CHECK (country ~ '^([A-Z]{2}|\*)$'),
  price_per_segment  numeric(12, 6) NOT NULL CHECK (price_per_segment >= 0),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, carrier, country)
);

-- A tenant's monthly spend cap (no row = no cap).
CREATE TABLE spend_caps (
  tenant       text PRIMARY KEY,
  monthly_cap  numeric(14, 6) NOT NULL CHECK (monthly_cap >= 0),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Running spend per tenant and UTC month: reserved at accept time under the cap (one conditional
-- upsert, so concurrent sends cannot overshoot it), given back when a message is never submitted.
CREATE TABLE tenant_spend (
  tenant  text NOT NULL,
  month   date NOT NULL,
  spent   numeric(14, 6) NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, month)
);

-- What each accepted message costs: its quoted route and price (segments x price per segment).
-- state: charged (counts against the cap) or released (never submitted; not billed).
CREATE TABLE message_charges (
  message_id         text PRIMARY KEY CHECK (message_id ~ '^msg_[0-9A-HJKMNP-TV-Z]{26}$'),
  tenant             text NOT NULL,
  month              date NOT NULL,
  country            char(2) NOT NULL,
  purpose            text NOT NULL,
  segments           integer NOT NULL,
  carrier            text,
  price_per_segment  numeric(12, 6),
  price              numeric(14, 6),            -- null: no price known for the route (unpriced)
  country_rule       text NOT NULL CHECK (country_rule IN ('allow', 'monitor')),
  held_until         timestamptz,
  state              text NOT NULL DEFAULT 'charged' CHECK (state IN ('charged', 'released')),
  created_at         timestamptz NOT NULL DEFAULT now(),
  released_at        timestamptz
);
CREATE INDEX message_charges_tenant_month ON message_charges (tenant, month);

-- Down Migration
DROP TABLE message_charges;
DROP TABLE tenant_spend;
DROP TABLE spend_caps;
DROP TABLE carrier_prices;
DROP TABLE otp_velocity;
DROP TABLE country_rules;
