-- A gate's value before its latest stamp. Locking a gate now also stamps it
-- (last_at = now, prev_at = the old last_at), so a send reads the phone's previous send
-- from the very statement that locks the phone's gate: one round trip instead of three.
-- A refused send rolls both back with its transaction.
ALTER TABLE limit_gates ADD COLUMN IF NOT EXISTS prev_at BIGINT NOT NULL DEFAULT 0 AFTER last_at;
