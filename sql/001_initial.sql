-- phoneverify schema, version 1. InnoDB, utf8mb4; every table has a primary key (Galera).
-- All times are BIGINT Unix seconds supplied by the application's clock, never NOW():
-- the clock is injected so tests control it, and all hosts agree on one time source.

-- Accounts. username_key is the case-folded username (folded by the application);
-- the binary no-pad collation makes uniqueness exact. phone is the verified phone
-- (NULL until one is verified): UNIQUE, so a phone is verified by at most one account.
CREATE TABLE IF NOT EXISTS accounts (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  username       VARCHAR(150) NOT NULL,
  username_key   VARCHAR(150) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL,
  email          VARCHAR(254) NOT NULL DEFAULT '',
  first_name     VARCHAR(150) NOT NULL DEFAULT '',
  last_name      VARCHAR(150) NOT NULL DEFAULT '',
  password_hash  VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  phone          CHAR(10) CHARACTER SET ascii COLLATE ascii_bin NULL,
  pending_phone  CHAR(10) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  phone_verified TINYINT(1) NOT NULL DEFAULT 0,
  is_active      TINYINT(1) NOT NULL DEFAULT 1,
  date_joined    BIGINT NOT NULL,
  last_login     BIGINT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_accounts_username_key (username_key),
  UNIQUE KEY uq_accounts_phone (phone)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- API tokens, stored only as BLAKE2b-256(token).
CREATE TABLE IF NOT EXISTS api_tokens (
  token_hash VARBINARY(64) NOT NULL,
  account_id BIGINT UNSIGNED NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (token_hash),
  KEY ix_api_tokens_account (account_id),
  CONSTRAINT fk_api_tokens_account FOREIGN KEY (account_id)
    REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The current one-time code of each (account, phone); a send replaces it. Only a keyed
-- hash of the code is kept. outbox_id points at the message that carries it.
-- (No foreign keys on the hot tables below: their parent-row locks would only add
-- lock waits to the send/verify transactions.)
CREATE TABLE IF NOT EXISTS otp_codes (
  account_id    BIGINT UNSIGNED NOT NULL,
  phone         CHAR(10) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  code_hash     VARBINARY(64) NOT NULL,
  created_at    BIGINT NOT NULL,
  expires_at    BIGINT NOT NULL,
  attempts_used INT NOT NULL DEFAULT 0,
  max_attempts  INT NOT NULL DEFAULT 0,  -- 0 = unlimited
  consumed      TINYINT(1) NOT NULL DEFAULT 0,
  outbox_id     BIGINT UNSIGNED NULL,
  PRIMARY KEY (account_id, phone)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per limit key (and per phone, scope 'last_send'). Every accepted send locks and
-- then writes its gates: concurrent sends to one key queue on the row lock within a node,
-- and conflicting commits on different Galera nodes fail certification (1213, retried)
-- instead of both passing a limit. For 'last_send', last_at is the latest accepted send.
CREATE TABLE IF NOT EXISTS limit_gates (
  scope   VARCHAR(20) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  key_    VARBINARY(190) NOT NULL,
  last_at BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (scope, key_)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Sliding-window limit events (sends per phone/account/IP, sign-ups per IP, login
-- failures per username, the daily SMS budget). Pruned after 24 h (the longest window).
CREATE TABLE IF NOT EXISTS limit_events (
  id    BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  scope VARCHAR(20) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  key_  VARBINARY(190) NOT NULL,
  at    BIGINT NOT NULL,
  PRIMARY KEY (id),
  KEY ix_limit_events_key (scope, key_, at),
  KEY ix_limit_events_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- SMS messages to deliver. sealed_text is the message encrypted with the server's outbox
-- key; it is set to NULL once the message is sent, failed for good, superseded or expired.
-- The dispatcher claims due rows by stamping claim_token and a lease.
CREATE TABLE IF NOT EXISTS outbox (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  account_id      BIGINT UNSIGNED NOT NULL,
  phone           CHAR(10) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  sealed_text     VARBINARY(1024) NULL,
  state           ENUM('queued', 'sending', 'retry', 'sent', 'failed', 'superseded')
                    CHARACTER SET ascii NOT NULL DEFAULT 'queued',
  tries           INT NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  claim_token     VARBINARY(64) NULL,
  lease_until     BIGINT NOT NULL DEFAULT 0,
  last_error      VARCHAR(255) NOT NULL DEFAULT '',
  created_at      BIGINT NOT NULL,
  sent_at         BIGINT NULL,
  expires_at      BIGINT NOT NULL,
  request_id      VARCHAR(64) NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  KEY ix_outbox_due (state, next_attempt_at),
  KEY ix_outbox_lease (state, lease_until),
  KEY ix_outbox_claim (claim_token),
  KEY ix_outbox_pair (account_id, phone),
  KEY ix_outbox_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
