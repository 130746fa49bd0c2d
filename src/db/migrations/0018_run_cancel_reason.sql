-- The reason given with the first cancel request of a run (POST /v1/runs/:id/cancel {reason}): shown on
-- the run; purged with its content.
ALTER TABLE runs ADD COLUMN cancel_reason text;
