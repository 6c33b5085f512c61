-- phoneverify schema, version 9: a wrong guess records its idempotency key in the same
-- statement that counts it.
-- A wrong guess is counted by one compare-and-set UPDATE of its code row, autocommit (no
-- transaction, no row lock held across the decision). That UPDATE now also writes the
-- request's idempotency key and time into the row, and the trigger below copies them into
-- idempotency_keys (sql/004) as a 'guess' with result 1 (wrong) -- within the UPDATE, so
-- the attempt and the key that spent it commit together or not at all, and a retry with
-- the key (or the server's own re-run after a lost answer) finds it there like any other
-- recorded guess. The trigger acts only when attempts_used rises and a key is given: a
-- resend (attempts reset to 0), a correct guess (consumed) and a keyless wrong guess
-- record nothing. The columns hold only the last counted guess's key; idempotency_keys is
-- what answers replays.
ALTER TABLE otp_codes
  ADD COLUMN IF NOT EXISTS last_guess_key VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin
    NOT NULL DEFAULT '',
  ADD COLUMN IF NOT EXISTS last_guess_at BIGINT NOT NULL DEFAULT 0;

CREATE TRIGGER IF NOT EXISTS tr_otp_codes_guess_key AFTER UPDATE ON otp_codes FOR EACH ROW
  INSERT INTO idempotency_keys (account_id, phone, operation, idem_key, result, created_at)
  SELECT NEW.account_id, NEW.phone, 'guess', NEW.last_guess_key, 1, NEW.last_guess_at
  FROM DUAL WHERE NEW.attempts_used > OLD.attempts_used AND NEW.last_guess_key <> ''
  ON DUPLICATE KEY UPDATE result = VALUES(result), created_at = VALUES(created_at);
