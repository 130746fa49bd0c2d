-- Webhook endpoints (secrets encrypted; the previous one kept for a grace period after rotation) and
-- deliveries (one per event and endpoint; every attempt recorded).

CREATE TABLE webhook_endpoints (
  id                      text PRIMARY KEY,
  workspace_id            text NOT NULL REFERENCES workspaces(id),
  url                     text NOT NULL,
  events                  text[] NOT NULL,
  description             text,
  secret_enc              text NOT NULL,
  previous_secret_enc     text,
  previous_valid_until    timestamptz,
  disabled_at             timestamptz,
  disabled_reason         text,
  deleted_at              timestamptz,
  created_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_workspace ON webhook_endpoints (workspace_id, id);

CREATE TABLE webhook_deliveries (
  id               text PRIMARY KEY,
  workspace_id     text NOT NULL REFERENCES workspaces(id),
  endpoint_id      text NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
  message_id       text NOT NULL,
  event_type       text NOT NULL,
  payload          jsonb NOT NULL,
  status           text NOT NULL,
  attempts         jsonb NOT NULL DEFAULT '[]',
  next_attempt_at  timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (endpoint_id, message_id)
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id DESC);
