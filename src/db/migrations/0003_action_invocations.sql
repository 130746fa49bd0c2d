-- Action invocations (API.md 5): one gated tool call without a model. Their approvals live in the
-- same table as those of runs.

CREATE TABLE action_invocations (
  id                 text PRIMARY KEY,
  workspace_id       text NOT NULL REFERENCES workspaces(id),
  workflow_id        text NOT NULL UNIQUE,
  tool               text NOT NULL,
  tool_call_id       text NOT NULL,
  arguments          jsonb NOT NULL,
  dry_run            boolean NOT NULL,
  status             text NOT NULL,
  result             jsonb,
  error              jsonb,
  approval_id        text,
  events             jsonb NOT NULL DEFAULT '[]',
  metadata           jsonb NOT NULL DEFAULT '{}',
  request_id         text,
  created_by_key_id  text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  completed_at       timestamptz
);
CREATE INDEX action_invocations_workspace ON action_invocations (workspace_id, id DESC);

ALTER TABLE approvals ALTER COLUMN run_id DROP NOT NULL;
ALTER TABLE approvals ALTER COLUMN session_id DROP NOT NULL;
ALTER TABLE approvals ALTER COLUMN agent_id DROP NOT NULL;
ALTER TABLE approvals ADD COLUMN action_id text REFERENCES action_invocations(id) ON DELETE CASCADE;
ALTER TABLE approvals ADD CONSTRAINT approvals_one_parent CHECK ((run_id IS NULL) <> (action_id IS NULL));
