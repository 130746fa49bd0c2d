// Skills (API.md 11): a multipart upload of text files is stored and read back byte for byte; the
// built-in skill is listed everywhere and cannot be deleted; another workspace's skill is 404 everywhere
// and cannot be given to an agent; hostile uploads are refused and store nothing; and a skill the model
// loads with `load_skill` shows up as a `skill.loaded` event and its content in the next model input.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayHistories } from '../../src/services/replay';
import { allEvents, Api, env, expectError, newWorkspace, setupAgent, type AgentSetup, type Res } from '../support/api';

const upload = (api: Api, form: FormData): Promise<Res> => api.call('POST', '/v1/skills', form);

function skillForm(fields: Record<string, string>, files: { name: string; content: string | Uint8Array; type?: string }[]): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  for (const file of files) f.append('files', new Blob([file.content], { type: file.type ?? 'text/markdown' }), file.name);
  return f;
}

const download = (api: Api, path: string) => fetch(`${api.base}${path}`, { headers: { authorization: `Bearer ${api.key}` } });

const REFUNDS_MD = '# Refunds\n\nRefund within 30 days; over 100 EUR needs a manager. Ünïcödé ✓\n';
const CHECKLIST = 'Checklist: verify the order id, then the amount.\n';
const refunds = () =>
  skillForm({ id: 'refunds', display_title: 'Refund handling', description: 'How to decide and process customer refunds' }, [
    { name: 'SKILL.md', content: REFUNDS_MD },
    { name: 'checklist.txt', content: CHECKLIST, type: 'text/plain' },
  ]);

let a: AgentSetup;
let db: pg.Pool;
const rowsOf = async (ws: string): Promise<{ skills: number; files: number }> => {
  const r = await db.query<{ skills: number; files: number }>(
    'SELECT (SELECT count(*)::int FROM skills WHERE workspace_id = $1) AS skills, (SELECT count(*)::int FROM skill_files WHERE workspace_id = $1) AS files',
    [ws],
  );
  return r.rows[0]!;
};

beforeAll(async () => {
  a = await setupAgent();
  db = new pg.Pool({ connectionString: env().databaseUrl, max: 2 });
});
afterAll(async () => {
  await a?.llm.close();
  await db?.end();
});

describe('skills', () => {
  it('an upload is stored, listed with the built-in one, downloaded byte for byte and deleted', async () => {
    const api = await newWorkspace('skills-crud');
    const up = await upload(api, refunds());
    expect(up.status).toBe(201);
    expect(up.body).toMatchObject({ id: 'refunds', object: 'skill', display_title: 'Refund handling', description: 'How to decide and process customer refunds', builtin: false });
    expect(up.body.files).toEqual([
      expect.objectContaining({ filename: 'SKILL.md', bytes: Buffer.byteLength(REFUNDS_MD), content_type: 'text/markdown' }),
      expect.objectContaining({ filename: 'checklist.txt', bytes: Buffer.byteLength(CHECKLIST), content_type: 'text/plain' }),
    ]);
    expect((await api.get('/v1/skills/refunds')).body).toEqual(up.body);

    const list = await api.get('/v1/skills');
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ object: 'list', has_more: false, next_cursor: null });
    expect(list.body.data.map((s: { id: string; builtin: boolean }) => [s.id, s.builtin])).toEqual([['platform-guide', true], ['refunds', false]]);
    const firstPage = await api.get('/v1/skills?limit=1');
    expect(firstPage.body).toMatchObject({ has_more: true, next_cursor: 'platform-guide' });
    expect((await api.get('/v1/skills?limit=1&after=platform-guide')).body.data.map((s: { id: string }) => s.id)).toEqual(['refunds']);

    const dl = await download(api, '/v1/skills/refunds/files/SKILL.md');
    expect(dl.status).toBe(200);
    expect(dl.headers.get('content-type')).toBe('text/markdown');
    expect(dl.headers.get('content-disposition')).toContain('attachment; filename="SKILL.md"');
    expect(Buffer.from(await dl.arrayBuffer()).equals(Buffer.from(REFUNDS_MD))).toBe(true);
    expectError(await api.get('/v1/skills/refunds/files/nope.md'), 404, 'not_found_error', 'not_found');

    // A developer and an auditor read; only an admin writes.
    const dev = new Api((await api.post('/v1/api_keys', { name: 'dev', roles: ['developer'] })).body.key);
    expect((await dev.get('/v1/skills/refunds')).status).toBe(200);
    expectError(await dev.delete('/v1/skills/refunds'), 403, 'permission_error', 'permission_denied');
    expectError(await upload(dev, refunds()), 403, 'permission_error', 'permission_denied');

    expect((await api.delete('/v1/skills/refunds')).body).toEqual({ id: 'refunds', object: 'skill', deleted: true });
    expectError(await api.get('/v1/skills/refunds'), 404, 'not_found_error', 'not_found');
    expectError(await api.get('/v1/skills/refunds/files/SKILL.md'), 404, 'not_found_error', 'not_found');
    expectError(await api.delete('/v1/skills/refunds'), 404, 'not_found_error', 'not_found');
    expect(await rowsOf((await api.get('/v1/workspaces/current')).body.id)).toEqual({ skills: 0, files: 0 });
  });

  it('the built-in skill is readable in every workspace and cannot be deleted or replaced', async () => {
    const api = await newWorkspace('skills-builtin');
    const guide = await api.get('/v1/skills/platform-guide');
    expect(guide.body).toMatchObject({ id: 'platform-guide', builtin: true, files: [expect.objectContaining({ filename: 'SKILL.md' })] });
    const dl = await download(api, '/v1/skills/platform-guide/files/SKILL.md');
    expect(await dl.text()).toContain('# Agent Platform guide');
    const del = await api.delete('/v1/skills/platform-guide');
    expectError(del, 409, 'conflict_error', 'builtin_skill');
    expect((await api.get('/v1/skills/platform-guide')).status).toBe(200);
    expectError(await upload(api, skillForm({ id: 'platform-guide', display_title: 'Mine', description: 'Mine' }, [{ name: 'SKILL.md', content: 'x' }])), 409, 'conflict_error', 'already_exists');
    // An agent may name it.
    expect((await a.api.post('/v1/agents', { name: 'guided', model: { card: 'fake' }, skills: ['platform-guide'] })).status).toBe(201);
  });

  it("another workspace's skill is 404 on read, file and delete, and an agent cannot name it", async () => {
    const owner = await newWorkspace('skills-owner');
    expect((await upload(owner, refunds())).status).toBe(201);
    for (const res of [await a.api.get('/v1/skills/refunds'), await a.api.get('/v1/skills/refunds/files/SKILL.md'), await a.api.delete('/v1/skills/refunds')]) {
      expectError(res, 404, 'not_found_error', 'not_found');
    }
    expect((await a.api.get('/v1/skills')).body.data.map((s: { id: string }) => s.id)).not.toContain('refunds');
    const create = await a.api.post('/v1/agents', { name: 'thief', model: { card: 'fake' }, skills: ['refunds'] });
    expectError(create, 400, 'invalid_request_error', 'unknown_skill');
    expect(create.body.error.param).toBe('skills');
    expectError(await a.api.patch('/v1/agents/assistant', { skills: ['refunds'] }), 400, 'invalid_request_error', 'unknown_skill');
    expect((await owner.get('/v1/skills/refunds')).status).toBe(200);
  });

  it('hostile uploads are refused and store nothing', async () => {
    const api = await newWorkspace('skills-hostile');
    const ws = (await api.get('/v1/workspaces/current')).body.id;
    expect((await upload(api, refunds())).status).toBe(201);
    const before = await rowsOf(ws);
    const fields = { id: 'other', display_title: 'Other', description: 'Other skill' };
    const ok = [{ name: 'SKILL.md', content: 'fine' }];
    const cases: [string, FormData, number, string][] = [
      ['missing id', skillForm({ display_title: 'T', description: 'D' }, ok), 400, 'validation_failed'],
      ['bad id', skillForm({ ...fields, id: '../etc' }, ok), 400, 'validation_failed'],
      ['id with a space', skillForm({ ...fields, id: 'a b' }, ok), 400, 'validation_failed'],
      ['missing description', skillForm({ id: 'other', display_title: 'T' }, ok), 400, 'validation_failed'],
      ['unknown field', skillForm({ ...fields, extra: 'x' }, ok), 400, 'validation_failed'],
      ['no files', skillForm(fields, []), 400, 'validation_failed'],
      ['duplicate id', refunds(), 409, 'already_exists'],
      ['binary file', skillForm(fields, [...ok, { name: 'logo.png', content: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0xff, 0xfe, 0x00, 0x01]), type: 'image/png' }]), 400, 'unsupported_file'],
      ['NUL bytes', skillForm(fields, [{ name: 'a.txt', content: 'a\u0000b' }]), 400, 'unsupported_file'],
      ['oversize file', skillForm(fields, [{ name: 'big.md', content: 'x'.repeat(1024 * 1024 + 1) }]), 413, 'payload_too_large'],
      ['oversize skill', skillForm(fields, [0, 1, 2, 3, 4].map((i) => ({ name: `part${i}.md`, content: 'y'.repeat(1000 * 1024) }))), 413, 'payload_too_large'],
      ['too many files', skillForm(fields, Array.from({ length: 21 }, (_, i) => ({ name: `f${i}.md`, content: 'z' }))), 400, 'validation_failed'],
      ['path traversal', skillForm(fields, [{ name: '../x', content: 'x' }]), 400, 'validation_failed'],
      ['directory', skillForm(fields, [{ name: 'dir/x.md', content: 'x' }]), 400, 'validation_failed'],
      ['dot file', skillForm(fields, [{ name: '.env', content: 'x' }]), 400, 'validation_failed'],
      ['same file twice', skillForm(fields, [...ok, ...ok]), 400, 'validation_failed'],
    ];
    const wrong: string[] = [];
    for (const [name, form, status, code] of cases) {
      const res = await upload(api, form);
      if (res.status !== status || res.body?.error?.code !== code) wrong.push(`${name}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
    }
    expect(wrong).toEqual([]);
    // Not multipart at all.
    expectError(await api.call('POST', '/v1/skills', { id: 'x' }), 415, 'invalid_request_error', 'unsupported_media_type');
    expect(await rowsOf(ws)).toEqual(before);
    expectError(await api.get('/v1/skills/other'), 404, 'not_found_error', 'not_found');
    expect(await (await download(api, '/v1/skills/refunds/files/SKILL.md')).text()).toBe(REFUNDS_MD);
  });

  it('a skill loaded by the model shows up as a skill.loaded event and its content in the next model input', { timeout: 120_000 }, async () => {
    expect((await upload(a.api, refunds())).status).toBe(201);
    const agent = await a.api.post('/v1/agents', { name: 'refunder', model: { card: 'fake' }, instructions: 'You help with orders.', skills: ['refunds'] });
    expect(agent.status).toBe(201);
    expect(agent.body.skills).toEqual(['refunds']);
    expect(agent.body.tools).toEqual([]);
    const before = a.llm.requests.length;
    a.llm.reply({ tool_calls: [{ name: 'load_skill', arguments: { skill: 'refunds' } }] }, { text: 'Refunds within 30 days are fine.' });
    const run = await a.api.post('/v1/runs', { agent: 'refunder', input: 'Can I refund order 7?', wait: true });
    expect(run.status).toBe(200);
    expect(run.body.status).toBe('completed');
    expect(run.body.output_text).toBe('Refunds within 30 days are fine.');

    const [first, second] = a.llm.requests.slice(before).map((r) => r.body as { messages: { role: string; content: unknown }[]; tools?: { function: { name: string; parameters: { properties: { skill: { enum: string[] } } } } }[] });
    const system = JSON.stringify(first!.messages.filter((m) => m.role === 'system'));
    expect(system).toContain('You help with orders.');
    expect(system).toContain('Refund handling');
    expect(system).toContain('How to decide and process customer refunds');
    expect(system).not.toContain('Refund within 30 days'); // the content only once loaded
    const offered = first!.tools!.find((t) => t.function.name === 'load_skill');
    expect(offered?.function.parameters.properties.skill.enum).toEqual(['refunds']);

    const events = await allEvents(a.api, run.body.id);
    const types = events.map((e) => e.type);
    const loaded = events.find((e) => e.type === 'skill.loaded');
    expect(loaded?.data).toMatchObject({ skill_id: 'refunds', files: ['SKILL.md', 'checklist.txt'] });
    const completed = events.find((e) => e.type === 'tool_call.completed');
    expect(completed?.data.name).toBe('load_skill');
    expect(loaded.data.tool_call_id).toBe(completed.data.tool_call_id);
    expect(types.indexOf('skill.loaded')).toBe(types.indexOf('tool_call.completed') + 1);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));

    // The tool result the provider receives is the skill's files, text exact.
    const tool = second!.messages.find((m) => m.role === 'tool') as { content: string };
    expect(JSON.parse(tool.content)).toEqual({
      skill_id: 'refunds',
      display_title: 'Refund handling',
      files: [{ name: 'SKILL.md', text: REFUNDS_MD }, { name: 'checklist.txt', text: CHECKLIST }],
    });

    // The new event is behind a patch: the run's history carries the marker of the patches it was run with
    // (one for all of them since issue 18) and replays against this build.
    const history = await a.api.get(`/v1/runs/${run.body.id}/history`);
    expect(history.status).toBe(200);
    type Marker = { markerRecordedEventAttributes?: { markerName: string; details: { 'patch-data'?: { payloads: { data: string }[] } } } };
    const patches = (history.body.events as Marker[])
      .flatMap((e) => (e.markerRecordedEventAttributes?.markerName === 'core_patch' ? e.markerRecordedEventAttributes.details['patch-data']!.payloads : []))
      .map((pl) => (JSON.parse(Buffer.from(pl.data, 'base64').toString('utf8')) as { id: string }).id);
    expect(patches).toEqual(['run-patches-current-v2']);
    const [verdict] = await replayHistories([{ id: run.body.id, json: history.body }]);
    expect(verdict).toMatchObject({ id: run.body.id, verdict: 'ok' });
  });

  it("a skill deleted after the agent named it is left out of the run; the model cannot load a skill that is not the agent's", async () => {
    const api = await newWorkspace('skills-run');
    const s = await setupAgent({ api });
    try {
      expect((await upload(api, skillForm({ id: 'gone', display_title: 'Gone skill', description: 'Will be deleted' }, [{ name: 'SKILL.md', content: 'gone' }]))).status).toBe(201);
      expect((await api.patch('/v1/agents/assistant', { skills: ['gone', 'platform-guide'] })).status).toBe(200);
      expect((await api.delete('/v1/skills/gone')).status).toBe(200);
      s.llm.reply({ tool_calls: [{ name: 'load_skill', arguments: { skill: 'gone' } }] }, { text: 'done' });
      const run = await api.post('/v1/runs', { agent: 'assistant', input: 'go', wait: true });
      expect(run.body.status).toBe('completed');
      const first = JSON.stringify(s.llm.requests[0]!.body);
      expect(first).toContain('Agent Platform guide');
      expect(first).not.toContain('Gone skill');
      const events = await allEvents(api, run.body.id);
      expect(events.find((e) => e.type === 'tool_call.failed')?.data.error.code).toBe('invalid_tool_arguments');
      expect(events.some((e) => e.type === 'skill.loaded' || e.type === 'tool_call.started')).toBe(false);
    } finally {
      await s.llm.close();
    }
  });
});
