-- When an account verified its phone (Unix seconds), for phoneverify-admin's daily
-- figures. NULL for accounts verified before this column existed, and until verified.
ALTER TABLE accounts ADD COLUMN IF NOT EXISTS phone_verified_at BIGINT NULL AFTER phone_verified;
ALTER TABLE accounts ADD KEY IF NOT EXISTS ix_accounts_phone_verified_at (phone_verified_at);
ALTER TABLE accounts ADD KEY IF NOT EXISTS ix_accounts_date_joined (date_joined);
