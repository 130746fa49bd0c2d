// Files (API.md 11): a multipart upload is stored with its size and SHA-256 and read back byte for byte;
// a text file named as `input_file` reaches the model; an oversize upload is 413 and stores nothing;
// another workspace's file is 404 everywhere; a deleted session takes its files; hostile forms are 400.
import crypto from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi, Api, env, expectError, newWorkspace, setupAgent, type AgentSetup, type Res } from '../support/api';
import { startPair, type Pair } from '../support/pair';

/** A multipart form, or a raw body with its own content-type header. */
const upload = (api: Api, form: FormData | string, headers: Record<string, string> = {}): Promise<Res> => api.call('POST', '/v1/files', form, headers);

function form(content: string | Uint8Array, opts: { filename?: string; type?: string; fields?: Record<string, string> } = {}): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(opts.fields ?? {})) f.append(k, v);
  f.append('file', new Blob([content], { type: opts.type ?? 'text/plain' }), opts.filename ?? 'notes.txt');
  return f;
}

const sha256 = (b: string | Uint8Array): string => crypto.createHash('sha256').update(b).digest('hex');

let a: AgentSetup;
let db: pg.Pool;
const rowsOf = async (ws: string): Promise<{ files: number; chunks: number }> => {
  const r = await db.query<{ files: string; chunks: string }>(
    `SELECT (SELECT count(*) FROM files WHERE workspace_id = $1) AS files,
            (SELECT count(*) FROM file_chunks c JOIN files f ON f.id = c.file_id WHERE f.workspace_id = $1) AS chunks`,
    [ws],
  );
  return { files: Number(r.rows[0]!.files), chunks: Number(r.rows[0]!.chunks) };
};

beforeAll(async () => {
  a = await setupAgent();
  db = new pg.Pool({ connectionString: env().databaseUrl, max: 2 });
});
afterAll(async () => {
  await a?.llm.close();
  await db?.end();
});

describe('files', () => {
  it('an upload is stored with its size and sha256 and downloads byte for byte', async () => {
    const text = 'Incident 42: the disk filled up.\nÉtat: résolu ✓\n';
    const up = await upload(a.api, form(text, { fields: { purpose: 'assistants' } }));
    expect(up.status).toBe(201);
    expect(up.body).toMatchObject({ object: 'file', filename: 'notes.txt', bytes: Buffer.byteLength(text), content_type: 'text/plain', sha256: sha256(text), session_id: null, purpose: 'assistants' });
    expect(up.body.id).toMatch(/^file_[0-9a-f]{32}$/);
    expect((await a.api.get(`/v1/files/${up.body.id}`)).body).toEqual(up.body);

    const dl = await fetch(`${a.api.base}/v1/files/${up.body.id}/content`, { headers: { authorization: `Bearer ${a.api.key}` } });
    expect(dl.status).toBe(200);
    expect(dl.headers.get('content-type')).toBe('text/plain');
    expect(dl.headers.get('content-disposition')).toContain('attachment; filename="notes.txt"');
    expect(dl.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await dl.arrayBuffer()).equals(Buffer.from(text))).toBe(true);

    const list = await a.api.get('/v1/files?limit=1');
    expect(list.body).toMatchObject({ object: 'list', has_more: false, next_cursor: null });
    expect(list.body.data[0].id).toBe(up.body.id);
  });

  it('a binary file of several pieces (over 256 KiB) keeps every byte', async () => {
    const bytes = crypto.randomBytes(700 * 1024);
    const up = await upload(a.api, form(bytes, { filename: 'blob.bin', type: 'application/octet-stream' }));
    expect(up.status).toBe(201);
    expect(up.body).toMatchObject({ bytes: bytes.length, sha256: sha256(bytes) });
    const dl = await fetch(`${a.api.base}/v1/files/${up.body.id}/content`, { headers: { authorization: `Bearer ${a.api.key}` } });
    expect(sha256(Buffer.from(await dl.arrayBuffer()))).toBe(sha256(bytes));
    // Not text and not an image: refused as model input.
    const run = await a.api.post('/v1/runs', { agent: 'assistant', input: [{ role: 'user', content: [{ type: 'input_file', file_id: up.body.id }] }] });
    expectError(run, 400, 'invalid_request_error', 'unsupported_file');
    expect(run.body.error.param).toBe('input[0].content[0].file_id');
  });

  it("a text file used as input_file reaches the model's input", async () => {
    const text = 'The quarterly report says revenue grew by 17 percent.';
    const up = await upload(a.api, form(text, { filename: 'report.md', type: 'text/markdown' }));
    const before = a.llm.requests.length;
    a.llm.reply({ text: 'Revenue grew 17%.' });
    const run = await a.api.post('/v1/runs', {
      agent: 'assistant',
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'summarize' }, { type: 'input_file', file_id: up.body.id }] }],
      wait: true,
    });
    expect(run.status).toBe(200);
    expect(run.body.status).toBe('completed');
    expect(run.body.input[0].content[1]).toEqual({ type: 'input_file', file_id: up.body.id });
    const sent = JSON.stringify(a.llm.requests[before]!.body);
    expect(sent).toContain('summarize');
    expect(sent).toContain(text);
    expect(sent).toContain('report.md');
  });

  it("another workspace's file is 404 on read, content, delete and as run input", async () => {
    const up = await upload(a.api, form('secret plans'));
    const other = await setupAgent();
    try {
      for (const res of [await other.api.get(`/v1/files/${up.body.id}`), await other.api.get(`/v1/files/${up.body.id}/content`), await other.api.delete(`/v1/files/${up.body.id}`)]) {
        expectError(res, 404, 'not_found_error', 'not_found');
      }
      const run = await other.api.post('/v1/runs', { agent: 'assistant', input: [{ role: 'user', content: [{ type: 'input_file', file_id: up.body.id }] }] });
      expectError(run, 404, 'not_found_error', 'not_found');
      expect(run.body.error.param).toBe('input[0].content[0].file_id');
      expect(other.llm.requests.length).toBe(0);
      expect((await other.api.get('/v1/files')).body.data).toEqual([]);
      // The owner still has it, whole.
      expect((await a.api.get(`/v1/files/${up.body.id}`)).body.sha256).toBe(sha256('secret plans'));
    } finally {
      await other.llm.close();
    }
  });

  it('a file of a session goes when the session is deleted; DELETE removes a file', async () => {
    const session = (await a.api.post('/v1/sessions', { agent: 'assistant' })).body;
    const inSession = await upload(a.api, form('session notes', { fields: { session_id: session.id } }));
    expect(inSession.body.session_id).toBe(session.id);
    expect((await a.api.get(`/v1/files?session_id=${session.id}`)).body.data.map((f: { id: string }) => f.id)).toEqual([inSession.body.id]);
    expect((await a.api.delete(`/v1/sessions/${session.id}`)).status).toBe(200);
    expectError(await a.api.get(`/v1/files/${inSession.body.id}`), 404, 'not_found_error', 'not_found');
    expectError(await a.api.get(`/v1/files/${inSession.body.id}/content`), 404, 'not_found_error', 'not_found');

    const loose = await upload(a.api, form('to delete'));
    expect((await a.api.delete(`/v1/files/${loose.body.id}`)).body).toEqual({ id: loose.body.id, object: 'file', deleted: true });
    expectError(await a.api.get(`/v1/files/${loose.body.id}`), 404, 'not_found_error', 'not_found');
    expectError(await a.api.delete(`/v1/files/${loose.body.id}`), 404, 'not_found_error', 'not_found');
    const rows = await db.query('SELECT count(*)::int AS n FROM file_chunks WHERE file_id = ANY($1)', [[inSession.body.id, loose.body.id]]);
    expect(rows.rows[0].n).toBe(0);
  });

  it('hostile uploads are refused and store nothing', async () => {
    const api = await newWorkspace('files-hostile');
    const ws = (await api.get('/v1/workspaces/current')).body.id;
    const keep = await upload(api, form('keep me'));
    const before = await rowsOf(ws);
    const noFile = new FormData();
    noFile.append('purpose', 'x');
    expectError(await upload(api, noFile), 400, 'invalid_request_error', 'validation_failed');
    const asField = new FormData();
    asField.append('file', 'just a string');
    expectError(await upload(api, asField), 400, 'invalid_request_error', 'validation_failed');
    expectError(await a.api.call('POST', '/v1/files', { file: 'x' }), 415, 'invalid_request_error', 'unsupported_media_type');
    expectError(await upload(api, 'plain text', { 'content-type': 'text/plain' }), 415, 'invalid_request_error', 'unsupported_media_type');
    expectError(await upload(api, '--x\r\nno end', { 'content-type': 'multipart/form-data; boundary=x' }), 400, 'invalid_request_error', 'validation_failed');
    expectError(await upload(api, form('x', { filename: `${'a'.repeat(300)}.txt` })), 400, 'invalid_request_error', 'validation_failed');
    expectError(await upload(api, form('x', { filename: 'b'.repeat(20_000) })), 400, 'invalid_request_error', 'validation_failed');
    const garbage = await upload(api, form('x', { fields: { session_id: "ses_' OR 1=1 --" } }));
    expectError(garbage, 404, 'not_found_error', 'not_found');
    expect(garbage.body.error.param).toBe('session_id');
    expectError(await upload(api, form('x', { fields: { session_id: 'ses_\u0000' } })), 400, 'invalid_request_error', 'validation_failed');
    expectError(await upload(api, form('x', { fields: { other: 'y' } })), 400, 'invalid_request_error', 'validation_failed');
    const two = form('one');
    two.append('file', new Blob(['two']), 'two.txt');
    expectError(await upload(api, two), 400, 'invalid_request_error', 'validation_failed');
    const run = await a.api.post('/v1/runs', { agent: 'assistant', input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file_nope' }] }] });
    expectError(run, 404, 'not_found_error', 'not_found');
    expect(run.body.error.param).toBe('input[0].content[0].file_id');
    expectError(await a.api.post('/v1/runs', { agent: 'assistant', input: [{ role: 'user', content: [{ type: 'input_file' }] }] }), 400, 'invalid_request_error', 'validation_failed');
    expect(await rowsOf(ws)).toEqual(before);
    const dl = await fetch(`${api.base}/v1/files/${keep.body.id}/content`, { headers: { authorization: `Bearer ${api.key}` } });
    expect(await dl.text()).toBe('keep me');
  });
});

describe('the upload limit (AP_MAX_FILE_BYTES=1024)', () => {
  let pair: Pair;
  beforeAll(async () => {
    pair = await startPair('files-limit', { api: { AP_MAX_FILE_BYTES: '1024' } });
  }, 60_000);
  afterAll(async () => {
    await pair?.api.kill('SIGKILL');
    await pair?.worker.kill('SIGKILL');
  });

  it('an oversize upload is 413 and stores nothing; one at the limit is stored', async () => {
    const ws = await adminApi().post('/v1/workspaces', { name: 'files-limit' });
    const api = new Api(ws.body.admin_key, `http://127.0.0.1:${pair.port}`);
    const before = await rowsOf(ws.body.id);
    for (const size of [1025, 300 * 1024]) {
      const res = await upload(api, form('x'.repeat(size)));
      expectError(res, 413, 'invalid_request_error', 'payload_too_large');
      expect(res.body.error.param).toBe('file');
    }
    expect(await rowsOf(ws.body.id)).toEqual(before);
    expect((await api.get('/v1/files')).body.data).toEqual([]);
    const ok = await upload(api, form('y'.repeat(1024)));
    expect(ok.status).toBe(201);
    expect(ok.body.bytes).toBe(1024);
    expect(await rowsOf(ws.body.id)).toEqual({ files: 1, chunks: 1 });
  });
});
