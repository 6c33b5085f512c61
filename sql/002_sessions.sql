-- phoneverify schema, version 2: web sessions of the HTML pages.
-- A row exists only for a signed-in browser; the cookie carries a random 256-bit id and
-- the table holds only BLAKE2b-256(id), so the table's content cannot be used as cookies.
-- Expiry is decided by the application from created_at (absolute) and last_seen_at
-- (idle); the indexes serve the pruning of expired rows.
CREATE TABLE IF NOT EXISTS sessions (
  id_hash      VARBINARY(64) NOT NULL,
  account_id   BIGINT UNSIGNED NOT NULL,
  created_at   BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  PRIMARY KEY (id_hash),
  KEY ix_sessions_account (account_id),
  KEY ix_sessions_last_seen (last_seen_at),
  KEY ix_sessions_created (created_at),
  CONSTRAINT fk_sessions_account FOREIGN KEY (account_id)
    REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
