// Run feedback (API.md 12): a developer rates a run (+1 / -1, optional comment, one per key per run, a
// second post with the same key replaces the first); the rating shows on the run object, in the run's
// feedback list, on the dashboard's run page and in the eval results of the case's run. Other workspaces
// see 404, read-only roles cannot post, and hostile bodies are refused without storing anything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { Api, env, expectError, newWorkspace, setupAgent, waitFor, type AgentSetup } from '../support/api';
import { purgeEndedRuns } from '../../src/services/retention';
import { createSecretBox } from '../../src/security/secrets';

type Json = Record<string, any>;

let db: pg.Pool;
let a: AgentSetup;
let developer: Api;
let developerKeyId: string;
let approver: Api;
let auditor: Api;

beforeAll(async () => {
  db = new pg.Pool({ connectionString: env().databaseUrl, max: 2 });
  a = await setupAgent();
  a.llm.respond(() => ({ text: 'Done.' }));
  const key = async (role: string) => (await a.api.post('/v1/api_keys', { name: `fb-${role}`, roles: [role] })).body;
  const dev = await key('developer');
  developer = new Api(dev.key);
  developerKeyId = dev.id;
  approver = new Api((await key('approver')).key);
  auditor = new Api((await key('auditor')).key);
});

afterAll(async () => {
  await a?.llm.close();
  await db?.end();
});

async function completedRun(): Promise<string> {
  const res = await developer.post('/v1/runs', { agent: 'assistant', input: 'hello', wait: true });
  expect(res.status).toBe(200);
  expect(res.body.status).toBe('completed');
  return res.body.id as string;
}

const storedRows = async (runId: string): Promise<number> =>
  (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM run_feedback WHERE run_id = $1', [runId])).rows[0]!.n;

/** Signs in to the dashboard as a browser would and returns the run page's HTML. */
async function dashboardRunPage(key: string, runId: string): Promise<string> {
  const base = env().apiUrl;
  const login = await fetch(`${base}/dashboard/login`);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await login.text())![1]!;
  const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const signIn = await fetch(`${base}/dashboard/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', origin: base },
    body: new URLSearchParams({ key, csrf }).toString(),
  });
  expect(signIn.status).toBe(303);
  const session = signIn.headers.getSetCookie().map((c) => c.split(';')[0]).find((c) => c?.startsWith('ap_session='))!;
  const page = await fetch(`${base}/dashboard/runs/${runId}`, { headers: { cookie: session } });
  expect(page.status).toBe(200);
  return page.text();
}

describe('run feedback', () => {
  it('feedback on a completed run shows on the run, in its feedback list, in the runs list, on the dashboard run page and in the audit log', async () => {
    const runId = await completedRun();
    const comment = 'Wrong answer <script>alert(1)</script> & "quoted"';
    const posted = await developer.post(`/v1/runs/${runId}/feedback`, { rating: -1, comment, key: 'user-42' });
    expect(posted.status).toBe(201);
    expect(posted.body).toMatchObject({ object: 'run.feedback', run_id: runId, key: 'user-42', rating: -1, comment });
    expect(posted.body.id).toMatch(/^fb_[0-9a-f]{32}$/);
    expect(posted.body.created_at).toBe(posted.body.updated_at);

    const run = await auditor.get(`/v1/runs/${runId}`);
    expect(run.status).toBe(200);
    expect(run.body.feedback).toEqual({ count: 1, up: 0, down: 1, items: [posted.body] });

    for (const reader of [developer, approver, auditor]) {
      const list = await reader.get(`/v1/runs/${runId}/feedback`);
      expect(list.status).toBe(200);
      expect(list.body).toEqual({ object: 'list', data: [posted.body], has_more: false, next_cursor: null });
    }
    const runs = await developer.get('/v1/runs?limit=5');
    expect(runs.body.data.find((r: Json) => r.id === runId).feedback).toEqual({ count: 1, up: 0, down: 1 });

    const html = await dashboardRunPage(approver.key, runId);
    const section = /<section id="run-feedback"[\s\S]*?<\/section>/.exec(html)?.[0] ?? '';
    expect(section).toContain('👎');
    expect(section).toContain('👍 0 · 👎 1');
    expect(section).toContain('user-42');
    expect(section).toContain('Wrong answer &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;');
    expect(html).not.toContain('<script>alert(1)');

    const audit = await a.api.get(`/v1/audit_log?type=run.feedback&target=${runId}`);
    expect(audit.body.data).toHaveLength(1);
    expect(audit.body.data[0]).toMatchObject({ action: 'run.feedback', target: runId, actor: { key_id: developerKeyId } });
    // The rating is recorded; the comment (an end user's words, maybe personal data) is not: the audit log is append-only.
    expect(audit.body.data[0].data.body).toMatchObject({ rating: -1, comment: '[omitted]' });
    expect(JSON.stringify(audit.body)).not.toContain('Wrong answer');
  });

  it('a second feedback with the same key replaces the first; another key adds one; the key defaults to the API key id', async () => {
    const runId = await completedRun();
    const first = await developer.post(`/v1/runs/${runId}/feedback`, { rating: 1, comment: 'great' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ key: developerKeyId, rating: 1, comment: 'great' });

    const second = await developer.post(`/v1/runs/${runId}/feedback`, { rating: -1, comment: 'x'.repeat(4000) });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ id: first.body.id, key: developerKeyId, rating: -1, comment: 'x'.repeat(4000), created_at: first.body.created_at });
    // Each post is a request of its own (authentication, the upsert, the audit record): later by more than a millisecond.
    expect(Date.parse(second.body.updated_at)).toBeGreaterThan(Date.parse(first.body.updated_at));
    expect(await storedRows(runId)).toBe(1);
    // Replacing without a comment clears it: the new feedback is the whole feedback.
    const third = await developer.post(`/v1/runs/${runId}/feedback`, { rating: 1 });
    expect(third.status).toBe(200);
    expect(third.body).toMatchObject({ id: first.body.id, rating: 1, comment: null });

    const other = await a.api.post(`/v1/runs/${runId}/feedback`, { rating: -1, key: 'end-user-7' });
    expect(other.status).toBe(201);
    expect(await storedRows(runId)).toBe(2);
    const list = await developer.get(`/v1/runs/${runId}/feedback`);
    expect(list.body.data.map((f: Json) => [f.key, f.rating])).toEqual([['end-user-7', -1], [developerKeyId, 1]]);
    expect((await developer.get(`/v1/runs/${runId}`)).body.feedback).toMatchObject({ count: 2, up: 1, down: 1 });
    // Pages: newest first, the cursor continues where the page ended.
    const page1 = await developer.get(`/v1/runs/${runId}/feedback?limit=1`);
    expect(page1.body).toMatchObject({ has_more: true, next_cursor: other.body.id });
    const page2 = await developer.get(`/v1/runs/${runId}/feedback?limit=1&after=${page1.body.next_cursor}`);
    expect(page2.body.data.map((f: Json) => f.key)).toEqual([developerKeyId]);
    expect(page2.body.has_more).toBe(false);
  });

  it('feedback survives a retention purge of the run content and goes when the session (with its run) is deleted', async () => {
    const { api, llm } = await setupAgent();
    llm.respond(() => ({ text: 'Purgeable answer.' }));
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'purge me', wait: true })).body;
    expect(run.status).toBe('completed');
    expect((await api.post(`/v1/runs/${run.id}/feedback`, { rating: 1, comment: 'kept' })).status).toBe(201);
    const workspaceId = (await api.get('/v1/workspaces/current')).body.id as string;
    expect(await purgeEndedRuns(db, createSecretBox([Buffer.from(env().masterKey, 'base64')]).audit, 0, workspaceId)).toBe(1);
    const purged = await api.get(`/v1/runs/${run.id}`);
    expect(purged.body.output_text).toBeNull();
    expect(purged.body.feedback).toMatchObject({ count: 1, up: 1, items: [{ comment: 'kept' }] });

    expect((await api.delete(`/v1/sessions/${run.session_id}`)).status).toBe(200);
    expect(await storedRows(run.id)).toBe(0);
    await llm.close();
  });

  it("another workspace's run is 404 for posting and reading; approvers and auditors may read but not post", async () => {
    const runId = await completedRun();
    const stranger = await newWorkspace('fb-stranger');
    expectError(await stranger.post(`/v1/runs/${runId}/feedback`, { rating: 1 }), 404, 'not_found_error', 'not_found');
    expectError(await stranger.get(`/v1/runs/${runId}/feedback`), 404, 'not_found_error', 'not_found');
    expectError(await developer.post('/v1/runs/run_00000000000000000000000000000000/feedback', { rating: 1 }), 404, 'not_found_error', 'not_found');
    for (const reader of [approver, auditor]) {
      expectError(await reader.post(`/v1/runs/${runId}/feedback`, { rating: 1 }), 403, 'permission_error', 'permission_denied');
      expect((await reader.get(`/v1/runs/${runId}/feedback`)).status).toBe(200);
    }
    expect(await storedRows(runId)).toBe(0);
    expect((await developer.get(`/v1/runs/${runId}`)).body.feedback).toEqual({ count: 0, up: 0, down: 0, items: [] });
  });

  it('hostile feedback bodies are 400 and store nothing', async () => {
    const runId = await completedRun();
    const bodies: unknown[] = [
      {},
      { rating: 0 },
      { rating: 2 },
      { rating: -2 },
      { rating: '1' },
      { rating: 1.0000001 },
      { rating: true },
      { rating: null },
      { rating: [1] },
      { comment: 'no rating' },
      { rating: 1, comment: 'x'.repeat(4001) },
      { rating: 1, comment: 42 },
      { rating: 1, comment: null },
      { rating: 1, comment: { text: 'nested' } },
      { rating: 1, key: '' },
      { rating: 1, key: 'k'.repeat(256) },
      { rating: 1, key: 7 },
      { rating: 1, run_id: 'run_other' },
      { rating: 1, created_at: '2000-01-01T00:00:00Z' },
      { rating: 1, comment: 'nul \u0000 inside' },
      { rating: 1, key: 'nul\u0000key' },
      { rating: 1, 'com\u0000ment': 'x' },
      { rating: 1, comment: 'lone \ud800 surrogate' },
      { rating: 1, key: '\udfff\ud800' },
      [{ rating: 1 }],
      '1',
    ];
    for (const body of bodies) {
      const res = await developer.post(`/v1/runs/${runId}/feedback`, typeof body === 'string' ? JSON.stringify(body) : body);
      expect({ body, status: res.status, code: res.body?.error?.code }).toEqual({ body, status: 400, code: 'validation_failed' });
    }
    const notJson = await developer.post(`/v1/runs/${runId}/feedback`, '{"rating": 1');
    expect(notJson.status).toBe(400);
    expect(await storedRows(runId)).toBe(0);
    expect((await developer.get(`/v1/runs/${runId}/feedback`)).body.data).toEqual([]);
  });

  it("an eval's result row shows the feedback on its case's run", async () => {
    const set = await a.api.post('/v1/eval_sets', { name: 'feedback-golden', cases: [{ id: 'only', input: 'hi', expect: { output_contains: ['Done'] } }] });
    expect(set.status).toBe(201);
    const started = await developer.post('/v1/evals', { eval_set: 'feedback-golden', agent: 'assistant' });
    expect(started.status).toBe(202);
    expect(started.body.results).toEqual([expect.objectContaining({ case_id: 'only', feedback: null })]);
    const done = await waitFor(async () => {
      const r = await developer.get(`/v1/evals/${started.body.id}`);
      return r.body.status === 'completed' ? r.body : undefined;
    }, 'the eval to complete', 90_000);
    const row = done.results[0];
    expect(row).toMatchObject({ case_id: 'only', status: 'passed', feedback: { count: 0, up: 0, down: 0 } });

    expect((await developer.post(`/v1/runs/${row.run_id}/feedback`, { rating: -1, comment: 'passed, but too terse' })).status).toBe(201);
    expect((await developer.post(`/v1/runs/${row.run_id}/feedback`, { rating: 1, key: 'reviewer-2' })).status).toBe(201);
    const after = await auditor.get(`/v1/evals/${started.body.id}`);
    expect(after.body.results[0]).toMatchObject({ case_id: 'only', run_id: row.run_id, feedback: { count: 2, up: 1, down: 1 } });
  });
});
