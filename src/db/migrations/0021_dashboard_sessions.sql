-- Dashboard sign-in sessions (issue 17, item 13): the browser's cookie is an opaque random id, stored here
-- as its SHA-256 with the API key it acts for (by id: the key itself is never stored), an expiry and a
-- revocation. A session works only while its key is not revoked; sign-out revokes the row, so a copied
-- cookie is worthless afterwards.
CREATE TABLE dashboard_sessions (
  id_hash       text PRIMARY KEY,
  workspace_id  text NOT NULL REFERENCES workspaces(id),
  key_id        text NOT NULL REFERENCES api_keys(id),
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  revoked_at    timestamptz
);
CREATE INDEX dashboard_sessions_key ON dashboard_sessions (key_id) WHERE revoked_at IS NULL;

-- OAuth flows bound to the end user's browser (issue 17, item 11): a state is issued only to the app that
-- owns the run, lives minutes, and is first opened through the platform (started_at), which sets the
-- browser cookie the callback checks. States issued before this migration were published in events and
-- webhooks: they end now (a waiting run's app asks for a new link).
ALTER TABLE connection_states ADD COLUMN started_at timestamptz;
UPDATE connection_states SET expires_at = now() WHERE used_at IS NULL AND expires_at > now();
