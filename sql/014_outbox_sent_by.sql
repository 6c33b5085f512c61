-- phoneverify schema, version 14: which backend delivered each message (sms_backend may
-- list several in failover order, contract section 6), for phoneverify-admin stats.
-- Empty for messages sent before, and for rows not sent.
ALTER TABLE outbox ADD COLUMN sent_by VARCHAR(16) CHARACTER SET ascii NOT NULL DEFAULT '';
