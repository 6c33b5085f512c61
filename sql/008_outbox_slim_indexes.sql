-- One secondary index fewer on outbox, the table every send inserts into and every SMS
-- updates twice (claim, then sent): each index is kept up on each of those writes.
-- A claim now stamps its lease end into next_attempt_at as well as lease_until, so leases
-- that ran out are found through ix_outbox_due (state, next_attempt_at) like due rows.
ALTER TABLE outbox DROP INDEX IF EXISTS ix_outbox_lease;
