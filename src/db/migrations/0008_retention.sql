-- When an ended run's content (input, output, events, transcript, approval arguments) was purged.
ALTER TABLE runs ADD COLUMN content_purged_at timestamptz;
