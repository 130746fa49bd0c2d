-- Memory stores (API.md 11): per-workspace collections of text entries, names unique within the workspace.
-- A store with an embedding card keeps each entry's vector (real[], any dimension; the service checks it);
-- without one, search ranks by full text (the generated `tsv`). Entries go with their store.
CREATE TABLE memory_stores (
  id               text PRIMARY KEY,
  workspace_id     text NOT NULL REFERENCES workspaces(id),
  name             text NOT NULL,
  embedding_card   text,
  embedding_model  text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workspace_id, name),
  CHECK ((embedding_card IS NULL) = (embedding_model IS NULL))
);

CREATE TABLE memory_entries (
  id            text PRIMARY KEY,
  workspace_id  text NOT NULL REFERENCES workspaces(id),
  store_id      text NOT NULL REFERENCES memory_stores(id) ON DELETE CASCADE,
  text          text NOT NULL,
  metadata      jsonb NOT NULL DEFAULT '{}',
  embedding     real[],
  tsv           tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
  -- Set when a run's `memory_write` stored it; the unique key makes a retried tool call store it once.
  -- No foreign key: retention may delete the run, the memory stays.
  run_id        text,
  tool_call_id  text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (store_id, tool_call_id)
);
CREATE INDEX memory_entries_store ON memory_entries (store_id, id);
CREATE INDEX memory_entries_tsv ON memory_entries USING gin (tsv);

-- pgvector where the server has it: ranking then runs as `<=>` on the stored arrays (exact, no ANN index:
-- dimensions differ between stores). Without it, or without the right to create it, search computes the
-- same cosine similarity in plain SQL; the service checks which at run time.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
    CREATE EXTENSION IF NOT EXISTS vector;
  END IF;
EXCEPTION WHEN OTHERS THEN
  -- Typically insufficient_privilege (not a superuser, pgvector not trusted): the fallback is as exact.
  RAISE NOTICE 'pgvector could not be created (%): memory search uses cosine similarity in SQL', SQLERRM;
END $$;
