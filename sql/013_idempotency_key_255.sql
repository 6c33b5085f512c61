-- phoneverify schema, version 13: an Idempotency-Key of up to 255 characters (contract
-- section 4: 1 to 255 printable ASCII). Version 4 and 11 kept 64, and the server ignored
-- a longer key, so a client's retry with one could send a second SMS. ASCII, so 255 bytes
-- in the primary key of idempotency_keys (well inside InnoDB's 3072).
ALTER TABLE idempotency_keys
  MODIFY idem_key VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL;
ALTER TABLE otp_codes
  MODIFY send_key VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '';
