-- The request that holds an idempotency key, so that only it stores the response or releases the key.
ALTER TABLE idempotency_keys ADD COLUMN claim_token text;
