-- A model card may bound how long its provider has to start answering (API.md 12: a step falls back on
-- a timeout of the primary). NULL: no bound of our own (undici's 300 s header timeout).
ALTER TABLE model_cards ADD COLUMN timeout_seconds int CHECK (timeout_seconds BETWEEN 1 AND 600);
