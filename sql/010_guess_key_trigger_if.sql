-- phoneverify schema, version 10: the guess-key trigger of sql/009 runs no statement at
-- all for an UPDATE that records no key.
-- Most wrong guesses now come without a client's Idempotency-Key; the server's own key
-- is not kept on the compare-and-set path (nobody can send it again), so their UPDATE
-- leaves last_guess_key empty. Version 9's trigger still ran its INSERT ... SELECT ...
-- WHERE (inserting nothing) for each of them; this one tests the condition first.
-- Same condition, same row written. CREATE OR REPLACE swaps it under the table's
-- metadata lock: no UPDATE runs between the two versions without a trigger.
DELIMITER //
CREATE OR REPLACE TRIGGER tr_otp_codes_guess_key AFTER UPDATE ON otp_codes FOR EACH ROW
BEGIN
  IF NEW.attempts_used > OLD.attempts_used AND NEW.last_guess_key <> '' THEN
    INSERT INTO idempotency_keys (account_id, phone, operation, idem_key, result, created_at)
    VALUES (NEW.account_id, NEW.phone, 'guess', NEW.last_guess_key, 1, NEW.last_guess_at)
    ON DUPLICATE KEY UPDATE result = VALUES(result), created_at = VALUES(created_at);
  END IF;
END//
DELIMITER ;
