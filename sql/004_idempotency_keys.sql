-- phoneverify schema, version 4: idempotent writes.
-- A state change whose outcome a client (or the server itself) may not have learnt -- a
-- COMMIT whose connection dropped, a reply lost on the way -- can be run again safely:
-- the idempotency key of the request that made it is recorded in the same transaction,
-- so a second run finds it and answers "already done" instead of sending a second SMS or
-- charging a second attempt. The key is the client's Idempotency-Key header, or a fresh
-- random one per request (which still covers the server's own re-run after a lost
-- COMMIT). Keyed per account and phone, so a client's key never reaches another
-- account's or another phone's request. Pruned after 24 h.
CREATE TABLE IF NOT EXISTS idempotency_keys (
  account_id BIGINT UNSIGNED NOT NULL,
  phone      CHAR(10) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  operation  VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,  -- 'send', 'guess'
  idem_key   VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  result     BIGINT NOT NULL,  -- send: the outbox id; guess: 1 wrong, 2 correct
  created_at BIGINT NOT NULL,
  PRIMARY KEY (account_id, phone, operation, idem_key),
  KEY ix_idempotency_keys_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
