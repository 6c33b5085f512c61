-- Fewer secondary indexes on outbox, the table every send inserts into and every SMS
-- updates twice (claim, then sent): each index is kept up on each of those writes.
-- A claim now stamps its lease end into next_attempt_at as well as lease_until, so claimed
-- rows and leases that ran out are found through ix_outbox_due (state, next_attempt_at),
-- and a claim reads its rows back by (state, next_attempt_at, claim_token) instead of an
-- index of its own.
ALTER TABLE outbox DROP INDEX IF EXISTS ix_outbox_lease, DROP INDEX IF EXISTS ix_outbox_claim;
