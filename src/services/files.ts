// Files (API.md 11): an upload, already read whole by the route (src/api/upload.ts: a slow client never
// holds the transaction), streams through a size counter and a SHA-256 into PostgreSQL inside one
// transaction (a refused upload stores nothing); downloads are read piece by piece; a run's `input_file`
// parts are checked when the run is created and read by the model call activity (src/core/input-files.ts).
import crypto from 'node:crypto';
import { TextDecoder } from 'node:util';
import { transaction } from '../db/pool';
import type { Queryable } from '../db/pool';
import * as repo from '../db/files';
import { newId } from '../db/ids';
import { isoDate } from '../domain/common';
import { PlatformError, notFound, validationFailed } from '../domain/errors';
import { fileFieldsSchema, inputKind, MAX_INPUT_FILES, MAX_TEXT_FILE_BYTES, normalizeContentType, type FileListQuery } from '../domain/file';
import type { Message } from '../domain/message';
import type { Principal } from '../domain/workspace';
import type { FormEvent } from '../api/multipart';
import { fileParts } from '../core/input-files';
import { page, type ServiceDeps } from './deps';

/** Content is stored in pieces of this size: an upload never holds more than one in memory. */
const CHUNK_BYTES = 256 * 1024;

export const fileView = (f: repo.FileRow) => ({
  id: f.id,
  object: 'file' as const,
  filename: f.filename,
  bytes: Number(f.bytes),
  content_type: f.content_type,
  sha256: f.sha256,
  session_id: f.session_id,
  purpose: f.purpose,
  created_at: isoDate(f.created_at),
});

function checkFilename(raw: string): string {
  // Browsers of old sent a whole path (C:\fakepath\a.txt): only the last segment is the name.
  const name = raw.split(/[\\/]/).pop()!;
  if (!name) throw validationFailed('file must have a filename', 'file');
  if ([...name].length > 255) throw validationFailed('The filename exceeds 255 characters', 'filename');
  if (/[\u0000-\u001f\u007f]/.test(name)) throw validationFailed('The filename must not contain control characters', 'filename');
  return name;
}

/** Reads the form and stores its one `file` part; `payload_too_large` as soon as the file crosses the limit. */
export async function uploadFile(deps: ServiceDeps, p: Principal, form: AsyncIterable<FormEvent>) {
  const limit = deps.config.maxFileBytes;
  return transaction(deps.db, async (c) => {
    const fields: Record<string, string> = {};
    let file: { id: string; seq: number; bytes: number; pending: Buffer[]; pendingBytes: number; hash: crypto.Hash; utf8: TextDecoder | undefined; done: boolean } | undefined;
    const flush = async (): Promise<void> => {
      if (!file || file.pendingBytes === 0) return;
      await repo.insertChunk(c, file.id, file.seq++, Buffer.concat(file.pending));
      file.pending = [];
      file.pendingBytes = 0;
    };
    for await (const ev of form) {
      if (ev.type === 'field') {
        if (ev.name === 'file') throw validationFailed('file must be a file part (with a filename)', 'file');
        if (ev.name in fields) throw validationFailed(`${ev.name} is given twice`, ev.name);
        fields[ev.name] = ev.value;
      } else if (ev.type === 'file') {
        if (ev.name !== 'file') throw validationFailed(`Unknown file field ${ev.name}; the file goes in the field "file"`, ev.name);
        if (file) throw validationFailed('Only one file per upload', 'file');
        file = { id: newId('file'), seq: 0, bytes: 0, pending: [], pendingBytes: 0, hash: crypto.createHash('sha256'), utf8: new TextDecoder('utf-8', { fatal: true }), done: false };
        await repo.insertFile(c, { id: file.id, workspace_id: p.workspace_id, filename: checkFilename(ev.filename), content_type: normalizeContentType(ev.content_type) });
      } else if (ev.type === 'data' && file) {
        file.bytes += ev.data.length;
        if (file.bytes > limit) throw new PlatformError('payload_too_large', `The file exceeds the limit of ${limit} bytes`, 'file');
        file.hash.update(ev.data);
        file.utf8 = stillUtf8(file.utf8, ev.data, file.bytes);
        file.pending.push(ev.data);
        file.pendingBytes += ev.data.length;
        if (file.pendingBytes >= CHUNK_BYTES) await flush();
      } else if (ev.type === 'file_end' && file) {
        file.done = true;
      }
    }
    if (!file?.done) throw validationFailed('file is required (a multipart part named "file" with a filename)', 'file');
    await flush();
    for (const [k, v] of Object.entries(fields)) if (v.includes('\u0000')) throw validationFailed(`${k} must not contain NUL characters`, k);
    const parsed = fileFieldsSchema.safeParse(fields);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const param = issue.code === 'unrecognized_keys' ? (issue as { keys: string[] }).keys[0]! : issue.path.join('.');
      throw validationFailed(issue.code === 'unrecognized_keys' ? `Unknown field ${param}` : `${param} ${issue.message}`, param);
    }
    const { session_id, purpose } = parsed.data;
    // Locked until commit: a session deleted meanwhile cannot leave this file behind.
    if (session_id && !(await c.query('SELECT 1 FROM sessions WHERE workspace_id = $1 AND id = $2 FOR SHARE', [p.workspace_id, session_id])).rowCount) {
      throw notFound('session', 'session_id');
    }
    let textUtf8 = file.utf8 !== undefined;
    try {
      file.utf8?.decode(); // a multi-byte sequence cut off at the end is not UTF-8
    } catch {
      textUtf8 = false;
    }
    const row = await repo.finishFile(c, file.id, { session_id: session_id ?? null, bytes: file.bytes, sha256: file.hash.digest('hex'), text_utf8: textUtf8, purpose: purpose ?? null });
    return fileView(row);
  });
}

/** The decoder while the content may still be model-readable text, else undefined. */
function stillUtf8(decoder: TextDecoder | undefined, data: Buffer, total: number): TextDecoder | undefined {
  if (!decoder || total > MAX_TEXT_FILE_BYTES) return undefined;
  try {
    decoder.decode(data, { stream: true });
    return decoder;
  } catch {
    return undefined;
  }
}

async function getRow(deps: ServiceDeps, p: Principal, id: string): Promise<repo.FileRow> {
  const f = await repo.getFile(deps.db, p.workspace_id, id);
  if (!f) throw notFound('file', 'id');
  return f;
}

export const getFile = async (deps: ServiceDeps, p: Principal, id: string) => fileView(await getRow(deps, p, id));

export async function listFiles(deps: ServiceDeps, p: Principal, q: FileListQuery) {
  const rows = await repo.listFiles(deps.db, p.workspace_id, q);
  const pg = page(rows, q.limit);
  return { object: 'list' as const, ...pg, data: pg.data.map(fileView) };
}

export async function deleteFile(deps: ServiceDeps, p: Principal, id: string) {
  if (!(await repo.deleteFile(deps.db, p.workspace_id, id))) throw notFound('file', 'id');
  return { id, object: 'file' as const, deleted: true };
}

/** The file and its content as pieces; a file deleted midway ends the pieces with an error, not silently short. */
export async function openContent(deps: ServiceDeps, p: Principal, id: string) {
  const f = await getRow(deps, p, id);
  const bytes = Number(f.bytes);
  async function* pieces(): AsyncGenerator<Buffer> {
    let sent = 0;
    for (let seq = 0; sent < bytes; seq++) {
      const data = await repo.getChunk(deps.db, f.id, seq);
      if (!data) throw new Error(`file ${f.id} lost its content while being read`);
      sent += data.length;
      yield data;
    }
  }
  return { file: fileView(f), pieces: pieces() };
}

// ---------- run input

/** At run creation: every named file exists in the workspace and is text or an image (API.md 11). */
export async function checkInputFiles(db: Queryable, workspaceId: string, messages: Message[]): Promise<void> {
  const parts = fileParts(messages);
  if (parts.length === 0) return;
  if (parts.length > MAX_INPUT_FILES) throw validationFailed(`A run's input may name at most ${MAX_INPUT_FILES} files`, parts[MAX_INPUT_FILES]!.param);
  const rows = new Map((await repo.getFiles(db, workspaceId, [...new Set(parts.map((x) => x.file_id))])).map((f) => [f.id, f]));
  for (const part of parts) {
    const f = rows.get(part.file_id);
    if (!f) throw notFound('file', part.param);
    const kind = inputKind({ ...f, bytes: Number(f.bytes) });
    if (kind.kind === 'unsupported') throw new PlatformError('unsupported_file', `File ${f.id} cannot be model input: ${kind.reason}`, part.param);
  }
}
