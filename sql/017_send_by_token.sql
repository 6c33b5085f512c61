-- phoneverify schema, version 17: a send by API token in one round trip, the token included.
--
-- pv_send_code_v2 is pv_send_code (sql/016_send_procedure.sql, whose header says what the
-- procedure does and why) with the caller resolved inside it (issue 16): p_account is the
-- account when the caller already knows it (a web session), or 0 with p_token_hash the
-- hash of the request's API token, resolved to an active account here. A send by token was
-- two round trips (the token's lookup, then the CALL); it is one.
--
-- What the caller cannot know before the CALL is keyed by the account in the procedure:
-- a gate or limit entry whose key is "caller" instead of hex stands for the caller's
-- account, its decimal id (the account's daily cap, `account_day`). The code hash no longer names the
-- account (domain::VerificationService keeps it bound to the phone), so it can be made
-- before the CALL.
--
-- Result, one row: as pv_send_code's, and then the caller's account id; outcome
-- 'unauthenticated' (account 0, nothing locked, read or written) when the token matches no
-- active account.
--
-- pv_send_code (016's signature) stays for the workers of the previous release during a
-- rolling upgrade, as a call of pv_send_code_v2 by account (one body to keep); its result
-- row gains the account id as a last column, which those workers do not read. A later
-- migration drops it.
DROP PROCEDURE IF EXISTS pv_send_code_v2;
DELIMITER //
CREATE PROCEDURE pv_send_code_v2(
  IN p_account BIGINT UNSIGNED, IN p_token_hash VARBINARY(64),
  IN p_phone CHAR(10) CHARACTER SET ascii, IN p_now BIGINT,
  IN p_key VARCHAR(255) CHARACTER SET ascii, IN p_key_kept TINYINT,
  IN p_gates TEXT CHARACTER SET ascii, IN p_limits TEXT CHARACTER SET ascii,
  IN p_cooldown BIGINT,
  IN p_code_hash VARBINARY(64), IN p_expires_at BIGINT, IN p_max_attempts INT,
  IN p_sealed_text VARBINARY(1024), IN p_message_expires_at BIGINT,
  IN p_request_id VARCHAR(64) CHARACTER SET utf8mb4)
SQL SECURITY INVOKER
proc: BEGIN
  DECLARE v_account BIGINT UNSIGNED DEFAULT p_account;
  DECLARE v_account_key VARBINARY(190);
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

  -- The caller: an account already resolved (a web session), or an API token resolved
  -- here, in the same round trip as the send. No active account: nothing is locked or read.
  IF v_account = 0 THEN
    SET v_account = (SELECT a.id FROM api_tokens t
                     JOIN accounts a ON a.id = t.account_id AND a.is_active = 1
                     WHERE t.token_hash = p_token_hash);
    IF v_account IS NULL THEN
      SELECT 'unauthenticated', NULL, NULL, 0, '', 0;
      LEAVE proc;
    END IF;
  END IF;
  -- A list entry whose key is "caller" is keyed by the caller's account (its decimal id,
  -- as every other writer of those rows keys it): the caller may be known only now.
  SET v_account_key = CAST(v_account AS CHAR);

  START TRANSACTION;
  -- Lock every gate in order, stamping it (a twin of this send waits here; on Galera the
  -- stamps make conflicting commits fail certification). A rollback takes the stamps back.
  WHILE v_i < JSON_LENGTH(p_gates) DO
    INSERT INTO limit_gates (scope, key_, last_at, prev_at)
      VALUES (JSON_VALUE(p_gates, CONCAT('$[', v_i, '][0]')),
              IF(JSON_VALUE(p_gates, CONCAT('$[', v_i, '][1]')) = 'caller', v_account_key,
                 UNHEX(JSON_VALUE(p_gates, CONCAT('$[', v_i, '][1]')))), p_now, 0)
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
    LEFT JOIN otp_codes c ON c.account_id = v_account AND c.phone = p_phone
    WHERE g.scope = 'last_send' AND g.key_ = p_phone;

  -- An earlier run of this request: a made-up key is found in the code row (its re-run
  -- comes right after it), a client's in idempotency_keys (any send of the last 24 h).
  IF p_key <> '' THEN
    IF p_key_kept THEN
      SET v_replay = (SELECT result FROM idempotency_keys
                      WHERE account_id = v_account AND phone = p_phone AND operation = 'send'
                        AND idem_key = p_key AND created_at > p_now - 86400);
    ELSEIF v_code_key = p_key THEN
      SET v_replay = v_code_outbox;
    END IF;
  END IF;

  SET v_i = 0;
  WHILE v_i < JSON_LENGTH(p_limits) DO
    SET v_scope = JSON_VALUE(p_limits, CONCAT('$[', v_i, '][0]'));
    SET v_key = IF(JSON_VALUE(p_limits, CONCAT('$[', v_i, '][1]')) = 'caller', v_account_key,
                   UNHEX(JSON_VALUE(p_limits, CONCAT('$[', v_i, '][1]'))));
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
    SELECT 'replayed', v_replay, v_owner, v_last_send, v_usage, v_account;
  ELSEIF v_owner IS NOT NULL OR NOT v_below_limits
      OR (p_cooldown > 0 AND v_last_send > 0 AND p_now - v_last_send < p_cooldown) THEN
    ROLLBACK;
    SELECT 'declined', NULL, v_owner, v_last_send, v_usage, v_account;
  ELSE
    SET v_i = 0;
    WHILE v_i < JSON_LENGTH(p_limits) DO
      INSERT INTO limit_events (scope, key_, at)
        VALUES (JSON_VALUE(p_limits, CONCAT('$[', v_i, '][0]')),
                IF(JSON_VALUE(p_limits, CONCAT('$[', v_i, '][1]')) = 'caller', v_account_key,
                   UNHEX(JSON_VALUE(p_limits, CONCAT('$[', v_i, '][1]')))), p_now);
      SET v_i = v_i + 1;
    END WHILE;
    -- Messages of the pair all come from earlier sends, which left a code row.
    IF v_has_code > 0 THEN
      UPDATE outbox SET state = 'superseded', sealed_text = NULL, claim_token = NULL
        WHERE account_id = v_account AND phone = p_phone
          AND state IN ('queued', 'retry', 'sending');
    END IF;
    INSERT INTO outbox (account_id, phone, sealed_text, state, tries, next_attempt_at,
                        lease_until, last_error, created_at, expires_at, request_id)
      VALUES (v_account, p_phone, p_sealed_text, 'queued', 0, p_now, 0, '', p_now,
              p_message_expires_at, p_request_id);
    SET v_outbox = LAST_INSERT_ID();
    INSERT INTO otp_codes (account_id, phone, code_hash, created_at, expires_at,
                           attempts_used, max_attempts, consumed, outbox_id, send_key)
      VALUES (v_account, p_phone, p_code_hash, p_now, p_expires_at, 0, p_max_attempts, 0,
              v_outbox, p_key)
      ON DUPLICATE KEY UPDATE code_hash = VALUES(code_hash), created_at = VALUES(created_at),
        expires_at = VALUES(expires_at), attempts_used = 0,
        max_attempts = VALUES(max_attempts), consumed = 0, outbox_id = VALUES(outbox_id),
        send_key = VALUES(send_key);
    IF p_key_kept AND p_key <> '' THEN
      INSERT INTO idempotency_keys (account_id, phone, operation, idem_key, result, created_at)
        VALUES (v_account, p_phone, 'send', p_key, v_outbox, p_now)
        ON DUPLICATE KEY UPDATE result = VALUES(result), created_at = VALUES(created_at);
    END IF;
    COMMIT;
    SELECT 'accepted', v_outbox, NULL, v_last_send, v_usage, v_account;
  END IF;
END//
DELIMITER ;

-- CREATE OR REPLACE: a previous release's worker calling it meanwhile waits for the new
-- one instead of finding no procedure.
DELIMITER //
CREATE OR REPLACE PROCEDURE pv_send_code(
  IN p_account BIGINT UNSIGNED, IN p_phone CHAR(10) CHARACTER SET ascii, IN p_now BIGINT,
  IN p_key VARCHAR(255) CHARACTER SET ascii, IN p_key_kept TINYINT,
  IN p_gates TEXT CHARACTER SET ascii, IN p_limits TEXT CHARACTER SET ascii,
  IN p_cooldown BIGINT,
  IN p_code_hash VARBINARY(64), IN p_expires_at BIGINT, IN p_max_attempts INT,
  IN p_sealed_text VARBINARY(1024), IN p_message_expires_at BIGINT,
  IN p_request_id VARCHAR(64) CHARACTER SET utf8mb4)
SQL SECURITY INVOKER
BEGIN
  CALL pv_send_code_v2(p_account, '', p_phone, p_now, p_key, p_key_kept, p_gates, p_limits,
                       p_cooldown, p_code_hash, p_expires_at, p_max_attempts, p_sealed_text,
                       p_message_expires_at, p_request_id);
END//
DELIMITER ;
