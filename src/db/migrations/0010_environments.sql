-- Environments (API.md 11): per-workspace tool overrides, an allowed-tools narrowing and {{env.NAME}}
-- variables; a session may name one. Deleting an environment that sessions still name is refused
-- (409 by the service; the foreign key is the last line of defence, checked at statement end so that
-- cascades that remove both sides together still work).
CREATE TABLE environments (
  id             text PRIMARY KEY,
  workspace_id   text NOT NULL REFERENCES workspaces(id),
  name           text NOT NULL,
  variables      jsonb NOT NULL DEFAULT '{}',
  tools          jsonb NOT NULL DEFAULT '{}',
  allowed_tools  jsonb,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workspace_id, name)
);

ALTER TABLE sessions ADD COLUMN environment_id text REFERENCES environments(id);
CREATE INDEX sessions_environment ON sessions (environment_id) WHERE environment_id IS NOT NULL;
