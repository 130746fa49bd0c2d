-- Skills (API.md 11): per-workspace bundles of instruction text, ids chosen by the client (unique within
-- the workspace), files as whole `bytea` values (UTF-8 text of at most 1 MiB each, checked by the service).
-- The built-in skills live in the code (src/domain/skill.ts), not here.
CREATE TABLE skills (
  workspace_id   text NOT NULL REFERENCES workspaces(id),
  id             text NOT NULL,
  display_title  text NOT NULL,
  description    text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, id)
);

CREATE TABLE skill_files (
  workspace_id  text NOT NULL,
  skill_id      text NOT NULL,
  filename      text NOT NULL,
  content_type  text NOT NULL,
  bytes         int NOT NULL,
  sha256        text NOT NULL,
  content       bytea NOT NULL,
  PRIMARY KEY (workspace_id, skill_id, filename),
  FOREIGN KEY (workspace_id, skill_id) REFERENCES skills(workspace_id, id) ON DELETE CASCADE
);
