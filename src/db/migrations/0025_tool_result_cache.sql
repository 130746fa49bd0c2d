-- Stored answers of read tools with `cache_ttl_seconds` (API.md 16, issue 20 item 6). `key_hash` is the
-- sha256 of what makes a call identical (activities/tool-cache.ts): the tool's definition as the run saw
-- it, the environment applied, the vault secrets' rotation times, the arguments and the end user; the
-- workspace is part of the key and of the primary key. `output` is run content, as plain as run_events:
-- it goes with the run that produced it (a session delete cascades, the retention purge deletes it) and
-- with its expiry (ignored on read, deleted by the next store in the workspace and by the purge).
CREATE TABLE tool_result_cache (
  workspace_id  text NOT NULL REFERENCES workspaces(id),
  key_hash      text NOT NULL,
  tool_name     text NOT NULL,
  run_id        text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  tool_call_id  text NOT NULL,
  output        jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, key_hash)
);
CREATE INDEX tool_result_cache_expiry ON tool_result_cache (workspace_id, expires_at);
CREATE INDEX tool_result_cache_run ON tool_result_cache (run_id);
