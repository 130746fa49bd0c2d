-- The audit chain is keyed: each new record's hash is an HMAC under a key derived from AP_MASTER_KEY,
-- whose id is kept here (NULL: a record of the earlier, unkeyed SHA-256 chain). Earlier records are
-- not rewritten: the migrator anchors each legacy chain with one keyed record (src/db/audit.ts).
ALTER TABLE audit_log ADD COLUMN key_id text;
