-- Per-workspace limits set by the operator (NULL = the server default), and fixed one-minute windows
-- counting requests per API key (shared by every API process).

ALTER TABLE workspaces ADD COLUMN token_budget bigint;
ALTER TABLE workspaces ADD COLUMN rate_limit_per_minute integer;
ALTER TABLE workspaces ADD COLUMN max_active_runs integer;

CREATE TABLE rate_limit_windows (
  key_id        text NOT NULL,
  window_start  timestamptz NOT NULL,
  count         integer NOT NULL,
  PRIMARY KEY (key_id, window_start)
);
