-- The API key that made an idempotent request: only that key may replay its stored response (issue 17
-- item 1: a create response carries secrets shown once). Rows from before have none and replay to no one.
ALTER TABLE idempotency_keys ADD COLUMN key_id text;
