-- phoneverify schema, version 12: no trigger on otp_codes.
-- The trigger of sql/009/010 ran on every UPDATE of a code row, keyed or not, and made
-- each of those UPDATEs open and lock idempotency_keys as well: about an eighth of
-- mysqld's time per wrong guess, for the few guesses that carry a client's key. Such a
-- guess now counts its attempt and records its key in one short transaction (the
-- compare-and-set UPDATE, then the INSERT), which commits both or neither, as the
-- trigger did. Keyless guesses stay one autocommit UPDATE.
-- The columns last_guess_key and last_guess_at stay: the compare-and-set still refuses
-- a key already counted on the row.
DROP TRIGGER IF EXISTS tr_otp_codes_guess_key;
