-- Run feedback (API.md 12): a rating (+1 / -1) and an optional comment per run and `key` (who gave it: an
-- end user of the caller's app, by default the API key that posted it); a second post with the same key
-- replaces the first, which the unique constraint makes an upsert. The rows go with their run, and so with
-- its session; retention purges a run's content but keeps its feedback, a verdict on the run rather than
-- its transcript.
CREATE TABLE run_feedback (
  id          text PRIMARY KEY,
  run_id      text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  key         text NOT NULL,
  rating      smallint NOT NULL CHECK (rating IN (1, -1)),
  comment     text CHECK (char_length(comment) <= 4000),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (run_id, key)
);
