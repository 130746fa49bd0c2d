-- Usage at a glance (issue 20 item 5, API.md 16): budget alerts sent once per threshold and period, and
-- an index for the per-model figures of GET /v1/usage?group_by=model.

-- One row per budget threshold a workspace reached in a period (a UTC calendar month, 'YYYY-MM'): the
-- webhook `budget.threshold_reached` is enqueued in the transaction that inserts the row, so the unique
-- key is what makes it once per period, whatever runs end together.
CREATE TABLE budget_alerts (
  workspace_id  text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  period        text NOT NULL,
  threshold     numeric NOT NULL,
  budget        bigint NOT NULL,
  spent         bigint NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, period, threshold)
);

-- group_by=model reads each run's model calls (message.completed events, which name the model that
-- answered); without this it read every event of every run in the window.
CREATE INDEX run_events_model_calls ON run_events (run_id) WHERE type = 'message.completed';
