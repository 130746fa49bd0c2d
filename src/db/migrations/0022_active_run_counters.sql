-- Run admission (issue 18): the number of active (not terminal) runs of each workspace, kept by
-- triggers on runs so that every write path counts, cascades from a deleted session included; a create
-- is refused when its own commit takes the count past the cap, instead of counting runs under a lock.

-- No run may be written between the initial count and the triggers (an older API during an upgrade).
LOCK TABLE runs IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE workspace_active_runs (
  workspace_id  text PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
  active        integer NOT NULL
);

CREATE FUNCTION run_is_active(status text) RETURNS boolean LANGUAGE sql IMMUTABLE
  AS $$ SELECT status NOT IN ('completed', 'failed', 'canceled') $$;

-- At commit (the triggers are deferred), so that the counter row is locked only while the transaction
-- commits, never while it waits for its client. A create (src/db/runs.ts insertRun) sets its
-- workspace's cap for the transaction; past it, the commit fails with SQLSTATE AP429.
CREATE FUNCTION count_active_runs() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  now_active integer;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND run_is_active(OLD.status) THEN
    UPDATE workspace_active_runs SET active = active - 1 WHERE workspace_id = OLD.workspace_id;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND run_is_active(NEW.status) THEN
    INSERT INTO workspace_active_runs (workspace_id, active) VALUES (NEW.workspace_id, 1)
      ON CONFLICT (workspace_id) DO UPDATE SET active = workspace_active_runs.active + 1
      RETURNING active INTO now_active;
    -- Unset, the setting reads NULL (never set on this connection) or '' (set by an earlier transaction).
    IF TG_OP = 'INSERT' AND now_active > NULLIF(current_setting('ap.max_active_runs', true), '')::integer THEN
      RAISE EXCEPTION 'The workspace already has % active runs', now_active - 1 USING ERRCODE = 'AP429';
    END IF;
  END IF;
  RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER runs_count_active_insert AFTER INSERT ON runs DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION count_active_runs();
CREATE CONSTRAINT TRIGGER runs_count_active_delete AFTER DELETE ON runs DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION count_active_runs();
-- Only a change of activeness (or of workspace) touches the counter: queued → running → waiting_approval
-- updates never lock it.
CREATE CONSTRAINT TRIGGER runs_count_active_update AFTER UPDATE OF status, workspace_id ON runs DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW WHEN (run_is_active(OLD.status) IS DISTINCT FROM run_is_active(NEW.status) OR OLD.workspace_id IS DISTINCT FROM NEW.workspace_id)
  EXECUTE FUNCTION count_active_runs();

CREATE FUNCTION reset_active_runs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE workspace_active_runs SET active = 0;
  RETURN NULL;
END $$;
-- TRUNCATE fires no row triggers.
CREATE TRIGGER runs_count_active_truncate AFTER TRUNCATE ON runs FOR EACH STATEMENT EXECUTE FUNCTION reset_active_runs();

-- Every workspace has its row from the start (the first runs of a workspace then do not race to insert it).
CREATE FUNCTION add_active_runs_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO workspace_active_runs (workspace_id, active) VALUES (NEW.id, 0) ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER workspaces_add_active_runs_row AFTER INSERT ON workspaces FOR EACH ROW EXECUTE FUNCTION add_active_runs_row();

INSERT INTO workspace_active_runs (workspace_id, active)
  SELECT w.id, count(r.id) FILTER (WHERE run_is_active(r.status)) FROM workspaces w LEFT JOIN runs r ON r.workspace_id = w.id GROUP BY w.id;

-- The token-budget check sums this month's runs of a budgeted workspace: without this index it read
-- every run the workspace ever had.
CREATE INDEX runs_workspace_created ON runs (workspace_id, created_at);
