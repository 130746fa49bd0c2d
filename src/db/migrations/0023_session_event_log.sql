-- The session event log (API.md 16, issue 20 item 1): every run event also has a place in its session's
-- log, `session_seq`, gapless within the session across its runs. The event store assigns it under the
-- session row's lock (src/db/runs.ts insertEvents), from the counter `sessions.event_seq`, in the order
-- the batches commit, so that a client following the log never sees a later number before an earlier one.
-- Sessions also get the default a fire-and-forget message follows while a run is active (`if_busy`).

-- No event may be stored between the numbering below and the new column's use (an older worker during
-- an upgrade stores events without a session_seq; it fails on the NOT NULL instead, and retries).
LOCK TABLE run_events IN SHARE ROW EXCLUSIVE MODE;

ALTER TABLE sessions ADD COLUMN event_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN if_busy text NOT NULL DEFAULT 'reject' CHECK (if_busy IN ('reject', 'enqueue'));
ALTER TABLE run_events ADD COLUMN session_id text;
ALTER TABLE run_events ADD COLUMN session_seq bigint;

-- Events stored before this migration: numbered in the order they were stored (ties by run, then seq).
UPDATE run_events e SET session_id = n.session_id, session_seq = n.session_seq
  FROM (SELECT e2.run_id, e2.seq, r.session_id,
               row_number() OVER (PARTITION BY r.session_id ORDER BY e2.created_at, e2.run_id, e2.seq) AS session_seq
          FROM run_events e2 JOIN runs r ON r.id = e2.run_id) n
 WHERE e.run_id = n.run_id AND e.seq = n.seq;
UPDATE sessions s SET event_seq = m.last FROM (SELECT session_id, max(session_seq) AS last FROM run_events GROUP BY session_id) m
 WHERE s.id = m.session_id;

ALTER TABLE run_events ALTER COLUMN session_id SET NOT NULL;
ALTER TABLE run_events ALTER COLUMN session_seq SET NOT NULL;
-- No foreign key of its own: an event goes with its run (run_id), and a run with its session.
CREATE UNIQUE INDEX run_events_session_seq ON run_events (session_id, session_seq);
