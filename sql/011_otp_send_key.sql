-- phoneverify schema, version 11: a code row remembers the idempotency key of the send
-- that wrote it.
-- A send's transaction may run again after a COMMIT whose answer was lost; it must then
-- find its own first run instead of sending a second SMS. A key the client sent is kept
-- in idempotency_keys (sql/004) for 24 h, for the client's retries. A key the server made
-- up can only come back in that immediate re-run, and the code row the first run wrote
-- is where the re-run looks (one write less per send: the common case has no client
-- key). ADD COLUMN is instant in MariaDB 10.3 and later.
ALTER TABLE otp_codes
  ADD COLUMN IF NOT EXISTS send_key VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin
    NOT NULL DEFAULT '';
