-- Usage at a glance (issue 20 item 5, API.md 16): each run's model calls kept in a narrow table for
-- GET /v1/usage?group_by=model, and budget alerts sent once per threshold and period.

-- One row per model call: the model that answered (a fallback card's model when the primary failed), its
-- tokens and cost, and the ids of the tool calls it asked for. Filled by a trigger from the
-- message.completed events as they are stored, so that every write path counts (an older worker during
-- an upgrade included). It outlives the retention purge, which deletes the events but keeps
-- usage, and holds no content. Reading the events themselves would read every message's text.
CREATE TABLE run_model_calls (
  run_id         text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  seq            integer NOT NULL,
  model          text NOT NULL,
  card           text,
  input_tokens   bigint NOT NULL,
  output_tokens  bigint NOT NULL,
  cost_usd       numeric NOT NULL,
  tool_call_ids  text[] NOT NULL,
  PRIMARY KEY (run_id, seq)
);

CREATE FUNCTION record_model_call() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO run_model_calls (run_id, seq, model, card, input_tokens, output_tokens, cost_usd, tool_call_ids)
  VALUES (NEW.run_id, NEW.seq, COALESCE(NEW.data->>'model', 'unknown'), NEW.data->>'card',
          COALESCE((NEW.data->'usage'->>'input_tokens')::bigint, 0), COALESCE((NEW.data->'usage'->>'output_tokens')::bigint, 0),
          COALESCE((NEW.data->'usage'->>'cost_usd')::numeric, 0),
          ARRAY(SELECT t->>'id' FROM jsonb_array_elements(COALESCE(NEW.data->'message'->'tool_calls', '[]'::jsonb)) t))
  ON CONFLICT (run_id, seq) DO NOTHING;
  RETURN NULL;
END $$;

-- No event may be stored between the backfill and the trigger.
LOCK TABLE run_events IN SHARE ROW EXCLUSIVE MODE;

CREATE TRIGGER run_events_record_model_call AFTER INSERT ON run_events
  FOR EACH ROW WHEN (NEW.type = 'message.completed') EXECUTE FUNCTION record_model_call();

INSERT INTO run_model_calls (run_id, seq, model, card, input_tokens, output_tokens, cost_usd, tool_call_ids)
SELECT e.run_id, e.seq, COALESCE(e.data->>'model', 'unknown'), e.data->>'card',
       COALESCE((e.data->'usage'->>'input_tokens')::bigint, 0), COALESCE((e.data->'usage'->>'output_tokens')::bigint, 0),
       COALESCE((e.data->'usage'->>'cost_usd')::numeric, 0),
       ARRAY(SELECT t->>'id' FROM jsonb_array_elements(COALESCE(e.data->'message'->'tool_calls', '[]'::jsonb)) t)
  FROM run_events e WHERE e.type = 'message.completed';

-- One row per budget threshold a workspace reached in a period (a UTC calendar month, 'YYYY-MM'). The
-- webhook `budget.threshold_reached` is enqueued in the transaction that inserts the row, so the unique
-- key makes it once per period, however many runs end together.
CREATE TABLE budget_alerts (
  workspace_id  text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  period        text NOT NULL,
  threshold     numeric NOT NULL,
  budget        bigint NOT NULL,
  spent         bigint NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, period, threshold)
);
