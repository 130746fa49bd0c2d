-- Connected accounts (API.md 12): OAuth 2.0 clients per workspace (ids chosen by the client, secret
-- encrypted), the users' tokens per workspace, connection and user_reference (encrypted), and the
-- pending authorization flows, each bound to the run and the user that needs it (state stored as its
-- SHA-256, the PKCE verifier encrypted; a state is used at most once).
CREATE TABLE connections (
  workspace_id       text NOT NULL REFERENCES workspaces(id),
  id                 text NOT NULL,
  authorize_url      text NOT NULL,
  token_url          text NOT NULL,
  client_id          text NOT NULL,
  client_secret_enc  text NOT NULL,
  scopes             jsonb NOT NULL DEFAULT '[]',
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, id)
);

CREATE TABLE connection_tokens (
  workspace_id       text NOT NULL,
  connection_id      text NOT NULL,
  user_reference     text NOT NULL,
  access_token_enc   text NOT NULL,
  refresh_token_enc  text,
  scopes             jsonb NOT NULL DEFAULT '[]',
  expires_at         timestamptz,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, connection_id, user_reference),
  FOREIGN KEY (workspace_id, connection_id) REFERENCES connections(workspace_id, id) ON DELETE CASCADE
);

CREATE TABLE connection_states (
  state_hash         text PRIMARY KEY,
  workspace_id       text NOT NULL,
  connection_id      text NOT NULL,
  user_reference     text NOT NULL,
  run_id             text NOT NULL,
  tool_call_id       text NOT NULL,
  code_verifier_enc  text NOT NULL,
  scopes             jsonb NOT NULL DEFAULT '[]',
  created_at         timestamptz NOT NULL DEFAULT now(),
  expires_at         timestamptz NOT NULL,
  used_at            timestamptz,
  FOREIGN KEY (workspace_id, connection_id) REFERENCES connections(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX connection_states_user ON connection_states (workspace_id, connection_id, user_reference) WHERE used_at IS NULL;
