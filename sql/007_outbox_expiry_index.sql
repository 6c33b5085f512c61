-- The dispatcher fails undelivered messages past their expiry on every pass; without an
-- index that UPDATE read the whole outbox each time (and the longer the queue, the slower
-- the dispatcher drained it). With (state, expires_at) it reads only the expired rows.
ALTER TABLE outbox ADD INDEX IF NOT EXISTS ix_outbox_expiry (state, expires_at);
