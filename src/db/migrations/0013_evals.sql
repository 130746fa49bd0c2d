-- Evaluations (API.md 10): eval sets whose cases are versioned as a whole (a PATCH of the cases adds a
-- version), evals that ran one version against one agent version, and one result row per case. A case's
-- run is an ordinary run; its id is kept without a foreign key, since sessions (and their runs) can be
-- deleted while the eval's verdicts stay.
CREATE TABLE eval_sets (
  id               text PRIMARY KEY,
  workspace_id     text NOT NULL REFERENCES workspaces(id),
  name             text NOT NULL,
  current_version  int NOT NULL DEFAULT 1,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workspace_id, name)
);

CREATE TABLE eval_set_versions (
  eval_set_id  text NOT NULL REFERENCES eval_sets(id) ON DELETE CASCADE,
  version      int NOT NULL,
  cases        jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (eval_set_id, version)
);

CREATE TABLE evals (
  id                 text PRIMARY KEY,
  workspace_id       text NOT NULL REFERENCES workspaces(id),
  eval_set_id        text NOT NULL REFERENCES eval_sets(id),
  eval_set_version   int NOT NULL,
  agent_id           text NOT NULL REFERENCES agents(id),
  agent_version      int NOT NULL,
  tool_mode          text NOT NULL CHECK (tool_mode IN ('dry_run', 'live')),
  concurrency        int NOT NULL,
  status             text NOT NULL,
  summary            jsonb,
  error              jsonb,
  created_by_key_id  text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  started_at         timestamptz,
  completed_at       timestamptz
);
CREATE INDEX evals_workspace ON evals (workspace_id, id);

CREATE TABLE eval_results (
  eval_id              text NOT NULL REFERENCES evals(id) ON DELETE CASCADE,
  case_id              text NOT NULL,
  position             int NOT NULL,
  status               text NOT NULL DEFAULT 'pending',
  run_id               text,
  run_status           text,
  failures             jsonb NOT NULL DEFAULT '[]',
  tool_calls           jsonb,
  output_text          text,
  cost_usd             double precision,
  latency_ms           int,
  matched_tool_calls   int,
  expected_tool_calls  int,
  completed_at         timestamptz,
  PRIMARY KEY (eval_id, case_id)
);

-- `dry_run` for the runs of a dry-run eval: write tools are answered from their dry run, never executed.
ALTER TABLE runs ADD COLUMN tool_mode text CHECK (tool_mode IN ('dry_run'));
