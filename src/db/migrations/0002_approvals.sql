-- Approvals and client-executed tool calls (stored for listing; the workflow is the authority), and
-- idempotency keys for create routes.

CREATE TABLE approvals (
  id                 text PRIMARY KEY,
  workspace_id       text NOT NULL REFERENCES workspaces(id),
  run_id             text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  session_id         text NOT NULL,
  agent_id           text NOT NULL,
  tool_call          jsonb NOT NULL,
  effect             text NOT NULL,
  policy_rule_id     text,
  reason             text,
  preview            jsonb,
  status             text NOT NULL,
  requested_at       timestamptz NOT NULL,
  expires_at         timestamptz NOT NULL,
  decided_at         timestamptz,
  decided_by         jsonb,
  comment            text,
  decision           jsonb
);
CREATE INDEX approvals_workspace ON approvals (workspace_id, status, id);
CREATE INDEX approvals_run ON approvals (run_id);

CREATE TABLE client_tool_calls (
  id            text PRIMARY KEY,
  workspace_id  text NOT NULL REFERENCES workspaces(id),
  run_id        text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name          text NOT NULL,
  arguments     jsonb NOT NULL,
  status        text NOT NULL,
  requested_at  timestamptz NOT NULL,
  expires_at    timestamptz NOT NULL,
  resolved_at   timestamptz
);
CREATE INDEX client_tool_calls_run ON client_tool_calls (run_id);

CREATE TABLE idempotency_keys (
  workspace_id     text NOT NULL REFERENCES workspaces(id),
  key              text NOT NULL,
  request_hash     text NOT NULL,
  status           text NOT NULL,
  response_status  integer,
  response_body    jsonb,
  response_headers jsonb,
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, key)
);
