-- phoneverify schema, version 15: the verification API for backends that keep their own
-- users (contract section 7): API clients, verifications, their answers kept for
-- Idempotency-Key replays, and the webhook events they cause.

-- A site calling the API. Settings left NULL follow the configuration's otp_* keys
-- (max_sends_per_day NULL or 0: no cap of its own). API keys are stored only as
-- BLAKE2b-256(key); after `client rotate-key` the old key's hash works until
-- old_key_until. The webhook signing secret must be shown again (`client show`) and
-- used to sign, so it is kept sealed with the outbox key (util::Seal), never readable
-- in the database.
CREATE TABLE IF NOT EXISTS api_clients (
  id                    BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  name                  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  key_hash              VARBINARY(64) NOT NULL,
  old_key_hash          VARBINARY(64) NULL,
  old_key_until         BIGINT NOT NULL DEFAULT 0,
  brand                 VARCHAR(20) CHARACTER SET ascii COLLATE ascii_bin NULL,
  code_length           INT NULL,
  ttl                   BIGINT NULL,
  max_attempts          INT NULL,
  max_sends_per_day     INT NULL,
  webhook_url           VARCHAR(2048) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  webhook_secret_sealed VARBINARY(255) NOT NULL,
  -- Set when the endpoint answered 410 Gone; a new webhook_url clears it.
  webhook_disabled_at   BIGINT NOT NULL DEFAULT 0,
  disabled              TINYINT(1) NOT NULL DEFAULT 0,
  created_at            BIGINT NOT NULL,
  updated_at            BIGINT NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_api_clients_name (name),
  UNIQUE KEY uq_api_clients_key (key_hash),
  UNIQUE KEY uq_api_clients_old_key (old_key_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One verification: a code texted to a phone for a client, and its status machine
-- (pending -> approved | canceled | expired | max_attempts_reached | failed). The code
-- settings are fixed when it starts. ip_key is the limit key of the end user's address
-- (client_ip, else the caller's), which a resend counts again. outbox_id: the message
-- carrying the current code.
CREATE TABLE IF NOT EXISTS verifications (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  public_id     CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  client_id     BIGINT UNSIGNED NOT NULL,
  phone         CHAR(10) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  status        ENUM('pending', 'approved', 'canceled', 'expired', 'max_attempts_reached',
                     'failed') CHARACTER SET ascii NOT NULL DEFAULT 'pending',
  reference     VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
  lang          CHAR(2) CHARACTER SET ascii NOT NULL DEFAULT 'en',
  app_hash      VARCHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  ip_key        VARBINARY(190) NOT NULL DEFAULT '',
  code_hash     VARBINARY(64) NOT NULL,
  code_length   INT NOT NULL,
  max_attempts  INT NOT NULL,  -- 0 = unlimited
  attempts_used INT NOT NULL DEFAULT 0,
  sends         INT NOT NULL DEFAULT 1,
  outbox_id     BIGINT UNSIGNED NULL,
  created_at    BIGINT NOT NULL,
  sent_at       BIGINT NOT NULL,  -- the latest send (start or resend)
  expires_at    BIGINT NOT NULL,
  updated_at    BIGINT NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_verifications_public_id (public_id),
  KEY ix_verifications_client_phone (client_id, phone, status),
  KEY ix_verifications_expiry (status, expires_at),
  KEY ix_verifications_outbox (outbox_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The answer each API request gave, for 24 h: a request that comes again with the same
-- key (the client's Idempotency-Key, or the server's own token when it re-runs a
-- transaction whose COMMIT went unanswered) gets it back and changes nothing. Written in
-- the same transaction as the change. `request` is the method and path it answered.
CREATE TABLE IF NOT EXISTS api_answers (
  client_id  BIGINT UNSIGNED NOT NULL,
  request    VARCHAR(100) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  idem_key   VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  status     INT NOT NULL,
  body       TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (client_id, request, idem_key),
  KEY ix_api_answers_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Webhook events, written in the transaction of the change that causes them and
-- delivered after commit (at least once, in id order per verification). body is the
-- exact JSON sent on every try; event_id is its webhook-id. state: pending (due at
-- next_attempt_at), sending (claimed by claim_token until lease_until), delivered, or
-- dropped (retries ran out, or the client's webhook is gone).
CREATE TABLE IF NOT EXISTS webhook_events (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  event_id        CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  client_id       BIGINT UNSIGNED NOT NULL,
  verification_id BIGINT UNSIGNED NOT NULL,
  type            VARCHAR(40) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  body            TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  state           ENUM('pending', 'sending', 'delivered', 'dropped')
                    CHARACTER SET ascii NOT NULL DEFAULT 'pending',
  tries           INT NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  claim_token     VARBINARY(64) NULL,
  lease_until     BIGINT NOT NULL DEFAULT 0,
  last_error      VARCHAR(255) NOT NULL DEFAULT '',
  created_at      BIGINT NOT NULL,
  delivered_at    BIGINT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_webhook_events_event_id (event_id),
  KEY ix_webhook_events_due (state, next_attempt_at),
  KEY ix_webhook_events_verification (verification_id, id),
  KEY ix_webhook_events_claim (claim_token)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- An outbox message carries either an account's code (account_id) or a verification's
-- (verification_id, with account_id 0). ADD COLUMN is instant in MariaDB 10.3 and later.
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS verification_id BIGINT UNSIGNED NULL;
