-- Issue 16's floor 3, copied unchanged from /work/shared/bench/floor3.sql (all that follows
-- these two lines), since a clean clone has no /work/shared; src/ops/bench.sh loads it.
-- Floor 3 for `make bench`: run this in the bench database, then time `CALL f3_send(token_hash, phone, code_hash, sealed_text)` from a bare FastCGI responder (one prepared CALL per request, API tokens seeded into f3_tokens) beside the real send-otp, in the same run.
-- Floor 3: the least SQL that the contract's send needs, in one round trip (a stored
-- procedure called as one prepared statement): resolve the API token, then in one
-- transaction stamp the phone's gate row (cooldown and daily count), replace the code row,
-- queue the outbox message, commit. No limits decide anything (the benchmark runs with
-- limits off, like the project's); the rows and indexes are what a durable send must write.
CREATE TABLE IF NOT EXISTS f3_tokens (
  token_hash BINARY(32) NOT NULL PRIMARY KEY,
  account_id BIGINT NOT NULL
) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS f3_gates (
  phone CHAR(10) NOT NULL PRIMARY KEY,
  last_at BIGINT NOT NULL,
  day_start BIGINT NOT NULL,
  day_count INT NOT NULL
) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS f3_codes (
  account_id BIGINT NOT NULL,
  phone CHAR(10) NOT NULL,
  code_hash BINARY(32) NOT NULL,
  expires_at BIGINT NOT NULL,
  attempts INT NOT NULL,
  PRIMARY KEY (account_id, phone)
) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS f3_outbox (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  phone CHAR(10) NOT NULL,
  body VARBINARY(255) NOT NULL,
  state TINYINT NOT NULL DEFAULT 0,
  due_at BIGINT NOT NULL,
  KEY ix_due (state, due_at)
) ENGINE=InnoDB;
DROP PROCEDURE IF EXISTS f3_send;
DELIMITER //
CREATE PROCEDURE f3_send(IN tok BINARY(32), IN ph CHAR(10), IN ch BINARY(32), IN msg VARBINARY(255))
BEGIN
  DECLARE acct BIGINT DEFAULT NULL;
  DECLARE now BIGINT DEFAULT UNIX_TIMESTAMP();
  SELECT account_id INTO acct FROM f3_tokens WHERE token_hash = tok;
  IF acct IS NULL THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'not authenticated';
  END IF;
  START TRANSACTION;
  INSERT INTO f3_gates (phone, last_at, day_start, day_count) VALUES (ph, now, now, 1)
    ON DUPLICATE KEY UPDATE day_count = IF(now - day_start >= 86400, 1, day_count + 1),
                            day_start = IF(now - day_start >= 86400, now, day_start),
                            last_at = now;
  INSERT INTO f3_codes (account_id, phone, code_hash, expires_at, attempts)
    VALUES (acct, ph, ch, now + 300, 0)
    ON DUPLICATE KEY UPDATE code_hash = VALUES(code_hash), expires_at = VALUES(expires_at), attempts = 0;
  INSERT INTO f3_outbox (phone, body, due_at) VALUES (ph, msg, now);
  COMMIT;
END//
DELIMITER ;
