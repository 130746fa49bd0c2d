-- Files (API.md 11): metadata in `files`, content in `file_chunks` (bytea pieces of at most 256 KiB), so
-- that an upload is written as it streams in and a download is read piece by piece. Every API process
-- shares them; nothing lives on a local disk. A session's files go with it (ON DELETE CASCADE).
CREATE TABLE files (
  id            text PRIMARY KEY,
  workspace_id  text NOT NULL REFERENCES workspaces(id),
  session_id    text REFERENCES sessions(id) ON DELETE CASCADE,
  filename      text NOT NULL,
  content_type  text NOT NULL,
  bytes         bigint NOT NULL,
  sha256        text NOT NULL,
  -- True when the content is valid UTF-8 of at most 1 MiB: what a text `input_file` may be.
  text_utf8     boolean NOT NULL,
  purpose       text,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX files_workspace ON files (workspace_id, id);
CREATE INDEX files_session ON files (session_id) WHERE session_id IS NOT NULL;

CREATE TABLE file_chunks (
  file_id  text NOT NULL REFERENCES files(id) ON DELETE CASCADE,
  seq      int NOT NULL,
  data     bytea NOT NULL,
  PRIMARY KEY (file_id, seq)
);
