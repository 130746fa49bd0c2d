-- The audit log: append-only records chained by SHA-256 per workspace. The triggers refuse UPDATE,
-- DELETE and TRUNCATE for every role that has not switched triggers off; the hash chain lets
-- `verify` find what a superuser changed with them off.

CREATE TABLE audit_log (
  seq           bigserial PRIMARY KEY,
  workspace_id  text NOT NULL,
  at            timestamptz NOT NULL,
  actor         jsonb NOT NULL,
  action        text NOT NULL,
  target        text,
  request_id    text,
  data          jsonb NOT NULL DEFAULT '{}',
  prev_hash     text NOT NULL,
  hash          text NOT NULL
);
CREATE INDEX audit_log_workspace ON audit_log (workspace_id, seq);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END $$;

CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- The head of each workspace's chain, so that deleting the newest records is also found.
ALTER TABLE workspaces ADD COLUMN audit_head_seq bigint;
ALTER TABLE workspaces ADD COLUMN audit_head_hash text;
