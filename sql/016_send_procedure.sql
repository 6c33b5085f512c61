-- phoneverify schema, version 16: the account API's send in one round trip.
--
-- pv_send_code is the whole send-otp transaction as one prepared CALL (issue 16): it locks
-- and stamps the send's gate rows, reads what the decision needs, and either writes the
-- send (limit events, superseded messages, the outbox message, the code row, the kept key)
-- and commits, or rolls back. Before, the same work took one round trip per statement
-- (six or more), with the phone's gate row locked across all of them.
--
-- The decision stays in C++ (domain::VerificationService::DecideSend is the one place a
-- reader checks against the contract). The procedure applies only its acceptance test --
-- no owner, cooldown passed, every limit below its max -- and returns what it read either
-- way; the caller runs the C++ decider on that snapshot, which must agree with an
-- acceptance and names the exact refusal otherwise (storage/otp_repository.cpp; the two
-- are tested against each other by tests/integration/send_procedure_test.cpp).
--
-- Re-run safety: p_key is the request's key, the client's Idempotency-Key (p_key_kept = 1:
-- recorded in idempotency_keys for 24 h) or a token the storage made up (kept only in the
-- code row's send_key). A key that already sent for this account and phone answers
-- 'replayed' with the first outbox id, and nothing is written: so the storage may run the
-- CALL again after a COMMIT whose answer was lost, and a client may repeat its request.
--
-- Parameters (every one bound, never spliced):
--   p_gates   JSON [[scope, hex key], ...], sorted and unique: the gate rows to lock, the
--             phone's ('last_send', the phone) among them
--   p_limits  JSON [[scope, hex key, window, max], ...]: the limits switched on, in the
--             caller's order (the usage comes back in that order)
-- Result, one row: outcome ('accepted' | 'declined' | 'replayed'), the outbox id (accepted,
-- replayed), the phone's owner (NULL: none), the phone's last send before this one (0:
-- never), and the usage as "count:oldest " per limit.
-- SQL SECURITY INVOKER: it runs with the application account's own table rights (it needs
-- EXECUTE besides), so no definer account has to exist on every node.
DROP PROCEDURE IF EXISTS pv_send_code;
DELIMITER //
CREATE PROCEDURE pv_send_code(
  IN p_account BIGINT UNSIGNED, IN p_phone CHAR(10) CHARACTER SET ascii, IN p_now BIGINT,
  IN p_key VARCHAR(255) CHARACTER SET ascii, IN p_key_kept TINYINT,
  IN p_gates TEXT CHARACTER SET ascii, IN p_limits TEXT CHARACTER SET ascii,
  IN p_cooldown BIGINT,
  IN p_code_hash VARBINARY(64), IN p_expires_at BIGINT, IN p_max_attempts INT,
  IN p_sealed_text VARBINARY(1024), IN p_message_expires_at BIGINT,
  IN p_request_id VARCHAR(64) CHARACTER SET utf8mb4)
SQL SECURITY INVOKER
BEGIN
  DECLARE v_i INT DEFAULT 0;
  DECLARE v_scope VARCHAR(20) CHARACTER SET ascii;
  DECLARE v_key VARBINARY(190);
  DECLARE v_window BIGINT;
  DECLARE v_count BIGINT;
  DECLARE v_max BIGINT;
  DECLARE v_oldest BIGINT;
  DECLARE v_below_limits TINYINT DEFAULT 1;
  DECLARE v_usage TEXT CHARACTER SET ascii DEFAULT '';
  DECLARE v_last_send BIGINT DEFAULT 0;
  DECLARE v_owner BIGINT UNSIGNED DEFAULT NULL;
  DECLARE v_has_code TINYINT DEFAULT 0;
  DECLARE v_code_outbox BIGINT UNSIGNED DEFAULT NULL;
  DECLARE v_code_key VARCHAR(255) CHARACTER SET ascii DEFAULT NULL;
  DECLARE v_replay BIGINT DEFAULT NULL;
  DECLARE v_outbox BIGINT UNSIGNED DEFAULT NULL;
  -- A deadlock or certification failure (1213) has already rolled back; the caller runs
  -- the whole CALL again.
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;

  START TRANSACTION;
  -- Lock every gate in order, stamping it (a twin of this send waits here; on Galera the
  -- stamps make conflicting commits fail certification). A rollback takes the stamps back.
  WHILE v_i < JSON_LENGTH(p_gates) DO
    INSERT INTO limit_gates (scope, key_, last_at, prev_at)
      VALUES (JSON_VALUE(p_gates, CONCAT('$[', v_i, '][0]')),
              UNHEX(JSON_VALUE(p_gates, CONCAT('$[', v_i, '][1]'))), p_now, 0)
      ON DUPLICATE KEY UPDATE prev_at = last_at, last_at = VALUES(last_at);
    SET v_i = v_i + 1;
  END WHILE;
  -- One read of what the decision needs, each table on a unique key bound to constants
  -- (the optimizer reads them as constant tables): the phone's last send before this one
  -- (its gate row, just stamped), its owner, and the pair's code row.
  SELECT g.prev_at, w.id, c.account_id IS NOT NULL, c.outbox_id, c.send_key
    INTO v_last_send, v_owner, v_has_code, v_code_outbox, v_code_key
    FROM limit_gates g
    LEFT JOIN accounts w ON w.phone = p_phone AND w.phone_verified = 1
    LEFT JOIN otp_codes c ON c.account_id = p_account AND c.phone = p_phone
    WHERE g.scope = 'last_send' AND g.key_ = p_phone;

  -- An earlier run of this request: a made-up key is found in the code row (its re-run
  -- comes right after it), a client's in idempotency_keys (any send of the last 24 h).
  IF p_key <> '' THEN
    IF p_key_kept THEN
      SET v_replay = (SELECT result FROM idempotency_keys
                      WHERE account_id = p_account AND phone = p_phone AND operation = 'send'
                        AND idem_key = p_key AND created_at > p_now - 86400);
    ELSEIF v_code_key = p_key THEN
      SET v_replay = v_code_outbox;
    END IF;
  END IF;

  SET v_i = 0;
  WHILE v_i < JSON_LENGTH(p_limits) DO
    SET v_scope = JSON_VALUE(p_limits, CONCAT('$[', v_i, '][0]'));
    SET v_key = UNHEX(JSON_VALUE(p_limits, CONCAT('$[', v_i, '][1]')));
    SET v_window = CAST(JSON_VALUE(p_limits, CONCAT('$[', v_i, '][2]')) AS SIGNED);
    SELECT COUNT(*), COALESCE(MIN(at), 0) INTO v_count, v_oldest FROM limit_events
      WHERE scope = v_scope AND key_ = v_key AND at > p_now - v_window;
    SET v_usage = CONCAT(v_usage, v_count, ':', v_oldest, ' ');
    SET v_max = CAST(JSON_VALUE(p_limits, CONCAT('$[', v_i, '][3]')) AS SIGNED);
    IF v_max > 0 AND v_count >= v_max THEN
      SET v_below_limits = 0;
    END IF;
    SET v_i = v_i + 1;
  END WHILE;

  IF v_replay IS NOT NULL THEN
    ROLLBACK;
    SELECT 'replayed', v_replay, v_owner, v_last_send, v_usage;
  ELSEIF v_owner IS NOT NULL OR NOT v_below_limits
      OR (p_cooldown > 0 AND v_last_send > 0 AND p_now - v_last_send < p_cooldown) THEN
    ROLLBACK;
    SELECT 'declined', NULL, v_owner, v_last_send, v_usage;
  ELSE
    SET v_i = 0;
    WHILE v_i < JSON_LENGTH(p_limits) DO
      INSERT INTO limit_events (scope, key_, at)
        VALUES (JSON_VALUE(p_limits, CONCAT('$[', v_i, '][0]')),
                UNHEX(JSON_VALUE(p_limits, CONCAT('$[', v_i, '][1]'))), p_now);
      SET v_i = v_i + 1;
    END WHILE;
    -- Messages of the pair all come from earlier sends, which left a code row.
    IF v_has_code > 0 THEN
      UPDATE outbox SET state = 'superseded', sealed_text = NULL, claim_token = NULL
        WHERE account_id = p_account AND phone = p_phone
          AND state IN ('queued', 'retry', 'sending');
    END IF;
    INSERT INTO outbox (account_id, phone, sealed_text, state, tries, next_attempt_at,
                        lease_until, last_error, created_at, expires_at, request_id)
      VALUES (p_account, p_phone, p_sealed_text, 'queued', 0, p_now, 0, '', p_now,
              p_message_expires_at, p_request_id);
    SET v_outbox = LAST_INSERT_ID();
    INSERT INTO otp_codes (account_id, phone, code_hash, created_at, expires_at,
                           attempts_used, max_attempts, consumed, outbox_id, send_key)
      VALUES (p_account, p_phone, p_code_hash, p_now, p_expires_at, 0, p_max_attempts, 0,
              v_outbox, p_key)
      ON DUPLICATE KEY UPDATE code_hash = VALUES(code_hash), created_at = VALUES(created_at),
        expires_at = VALUES(expires_at), attempts_used = 0,
        max_attempts = VALUES(max_attempts), consumed = 0, outbox_id = VALUES(outbox_id),
        send_key = VALUES(send_key);
    IF p_key_kept AND p_key <> '' THEN
      INSERT INTO idempotency_keys (account_id, phone, operation, idem_key, result, created_at)
        VALUES (p_account, p_phone, 'send', p_key, v_outbox, p_now)
        ON DUPLICATE KEY UPDATE result = VALUES(result), created_at = VALUES(created_at);
    END IF;
    COMMIT;
    SELECT 'accepted', v_outbox, NULL, v_last_send, v_usage;
  END IF;
END//
DELIMITER ;
