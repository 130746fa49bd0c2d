-- Platform data: workspaces, keys, model cards, agents, tools, vault, sessions, runs, events, messages.

CREATE TABLE workspaces (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  is_default  boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX workspaces_one_default ON workspaces (is_default) WHERE is_default;

CREATE TABLE api_keys (
  id            text PRIMARY KEY,
  workspace_id  text NOT NULL REFERENCES workspaces(id),
  name          text NOT NULL,
  roles         text[] NOT NULL,
  key_hash      text NOT NULL UNIQUE,
  prefix        text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  revoked_at    timestamptz
);
CREATE INDEX api_keys_workspace ON api_keys (workspace_id, id);

CREATE TABLE model_cards (
  workspace_id     text NOT NULL REFERENCES workspaces(id),
  id               text NOT NULL,
  provider         text NOT NULL,
  base_url         text NOT NULL,
  api_key_enc      text NOT NULL,
  api_key_preview  text NOT NULL,
  headers_enc      text,
  default_model    text NOT NULL,
  pricing          jsonb,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, id)
);

CREATE TABLE agents (
  id               text PRIMARY KEY,
  workspace_id     text NOT NULL REFERENCES workspaces(id),
  name             text NOT NULL,
  current_version  integer NOT NULL,
  archived_at      timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX agents_name ON agents (workspace_id, name) WHERE archived_at IS NULL;

CREATE TABLE agent_versions (
  agent_id    text NOT NULL REFERENCES agents(id),
  version     integer NOT NULL,
  spec        jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (agent_id, version)
);

CREATE TABLE tools (
  id            text PRIMARY KEY,
  workspace_id  text NOT NULL REFERENCES workspaces(id),
  name          text NOT NULL,
  spec          jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  deleted_at    timestamptz
);
CREATE UNIQUE INDEX tools_name ON tools (workspace_id, name) WHERE deleted_at IS NULL;

CREATE TABLE vault_secrets (
  id            text PRIMARY KEY,
  workspace_id  text NOT NULL REFERENCES workspaces(id),
  name          text NOT NULL,
  value_enc     text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workspace_id, name)
);

CREATE TABLE sessions (
  id                 text PRIMARY KEY,
  workspace_id       text NOT NULL REFERENCES workspaces(id),
  agent_id           text NOT NULL REFERENCES agents(id),
  agent_version      integer NOT NULL,
  title              text,
  metadata           jsonb NOT NULL DEFAULT '{}',
  session_reference  text,
  user_reference     text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_workspace ON sessions (workspace_id, id DESC);
CREATE UNIQUE INDEX sessions_reference ON sessions (workspace_id, session_reference) WHERE session_reference IS NOT NULL;

CREATE TABLE runs (
  id                 text PRIMARY KEY,
  workspace_id       text NOT NULL REFERENCES workspaces(id),
  session_id         text NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  agent_id           text NOT NULL REFERENCES agents(id),
  agent_version      integer NOT NULL,
  workflow_id        text NOT NULL UNIQUE,
  status             text NOT NULL,
  input              jsonb NOT NULL,
  constraints        jsonb NOT NULL DEFAULT '{}',
  output             jsonb NOT NULL DEFAULT '[]',
  output_text        text,
  usage              jsonb NOT NULL,
  error              jsonb,
  metadata           jsonb NOT NULL DEFAULT '{}',
  request_id         text,
  created_by_key_id  text,
  last_seq           integer NOT NULL DEFAULT 0,
  created_at         timestamptz NOT NULL DEFAULT now(),
  started_at         timestamptz,
  completed_at       timestamptz
);
CREATE INDEX runs_workspace ON runs (workspace_id, id DESC);
CREATE INDEX runs_session ON runs (session_id, id);
CREATE UNIQUE INDEX runs_one_active_per_session ON runs (session_id)
  WHERE status IN ('running', 'tool_required', 'waiting_approval');

CREATE TABLE run_events (
  run_id      text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  seq         integer NOT NULL CHECK (seq >= 1),
  id          text NOT NULL UNIQUE,
  type        text NOT NULL,
  data        jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, seq)
);

CREATE TABLE session_messages (
  session_id  text NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  run_id      text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  position    integer NOT NULL,
  message     jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, position)
);
CREATE INDEX session_messages_session ON session_messages (session_id, created_at, run_id, position);
