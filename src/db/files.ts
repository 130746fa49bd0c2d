// Files and their content pieces (migration 0009).
import type { Queryable } from './pool';

export interface FileRow {
  id: string;
  workspace_id: string;
  session_id: string | null;
  filename: string;
  content_type: string;
  bytes: string | number;
  sha256: string;
  text_utf8: boolean;
  purpose: string | null;
  created_at: Date;
}

export async function insertFile(q: Queryable, f: Pick<FileRow, 'id' | 'workspace_id' | 'filename' | 'content_type'>): Promise<void> {
  // The sizes and hash are known only at the end of the stream: filled in by finishFile in the same transaction.
  await q.query(`INSERT INTO files (id, workspace_id, filename, content_type, bytes, sha256, text_utf8) VALUES ($1, $2, $3, $4, 0, '', false)`, [
    f.id, f.workspace_id, f.filename, f.content_type,
  ]);
}

export async function insertChunk(q: Queryable, fileId: string, seq: number, data: Buffer): Promise<void> {
  await q.query('INSERT INTO file_chunks (file_id, seq, data) VALUES ($1, $2, $3)', [fileId, seq, data]);
}

export async function finishFile(q: Queryable, id: string, f: Pick<FileRow, 'session_id' | 'bytes' | 'sha256' | 'text_utf8' | 'purpose'>): Promise<FileRow> {
  return (
    await q.query<FileRow>('UPDATE files SET session_id = $2, bytes = $3, sha256 = $4, text_utf8 = $5, purpose = $6 WHERE id = $1 RETURNING *', [
      id, f.session_id, f.bytes, f.sha256, f.text_utf8, f.purpose,
    ])
  ).rows[0]!;
}

export async function getFile(q: Queryable, ws: string, id: string): Promise<FileRow | undefined> {
  return (await q.query<FileRow>('SELECT * FROM files WHERE workspace_id = $1 AND id = $2', [ws, id])).rows[0];
}

export async function getFiles(q: Queryable, ws: string, ids: string[]): Promise<FileRow[]> {
  return (await q.query<FileRow>('SELECT * FROM files WHERE workspace_id = $1 AND id = ANY($2::text[])', [ws, ids])).rows;
}

export async function getChunk(q: Queryable, fileId: string, seq: number): Promise<Buffer | undefined> {
  return (await q.query<{ data: Buffer }>('SELECT data FROM file_chunks WHERE file_id = $1 AND seq = $2', [fileId, seq])).rows[0]?.data;
}

/** The whole content, for the small files a model reads (text up to 1 MiB, images up to 5 MiB). */
export async function getContent(q: Queryable, fileId: string): Promise<Buffer> {
  const rows = (await q.query<{ data: Buffer }>('SELECT data FROM file_chunks WHERE file_id = $1 ORDER BY seq', [fileId])).rows;
  return Buffer.concat(rows.map((r) => r.data));
}

export async function listFiles(q: Queryable, ws: string, f: { session_id?: string; after?: string; limit: number }): Promise<FileRow[]> {
  return (
    await q.query<FileRow>(
      `SELECT * FROM files WHERE workspace_id = $1 AND ($2::text IS NULL OR session_id = $2) AND ($3::text IS NULL OR id < $3)
        ORDER BY id DESC LIMIT $4`,
      [ws, f.session_id ?? null, f.after ?? null, f.limit + 1],
    )
  ).rows;
}

export async function deleteFile(q: Queryable, ws: string, id: string): Promise<boolean> {
  return ((await q.query('DELETE FROM files WHERE workspace_id = $1 AND id = $2', [ws, id])).rowCount ?? 0) > 0;
}
