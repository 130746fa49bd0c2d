// Connected accounts (API.md 12) against a local OAuth server: a run that calls a connected tool for a new
// user waits in `waiting_auth`, naming where its app gets the user's link; the app gets it, the user's
// browser follows it, the run resumes and the tool gets the user's bearer token; the link is no
// credential for anyone else (issue 17, items 11 and 12); another session of the same user does not ask again; an expired token is
// refreshed without pausing; a forged or replayed state is refused and stores nothing; revoking asks
// again; no token or client secret appears in any response, event or history.
import crypto from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allEvents, Api, env, expectError, newWorkspace, readSse, setupAgent, waitFor, waitForStatus, type AgentSetup } from '../support/api';
import { startToolServer, type ToolServer } from '../fixtures/tool-server';
import { startOAuthServer, type OAuthServer } from '../fixtures/oauth-server';
import { startReceiver } from '../fixtures/webhook-receiver';
import { authorize as authorizeFlow, consent, linkFor as linkForFlow, openLink } from '../support/oauth-flow';

type Json = Record<string, any>;

let a: AgentSetup;
let oauth: OAuthServer;
let tools: ToolServer;
let db: pg.Pool;
/** Every body the API answered in this file, to search for secrets at the end. */
const seen: string[] = [];
const remember = <T extends { body: unknown }>(r: T): T => (seen.push(JSON.stringify(r.body)), r);

beforeAll(async () => {
  db = new pg.Pool({ connectionString: env().databaseUrl, max: 2 });
  oauth = await startOAuthServer();
  tools = await startToolServer();
  tools.route('/calendar', { body: { events: ['standup at 9'] } });
  a = await setupAgent();
  const created = remember(
    await a.api.post('/v1/connections', { id: 'calendar', authorize_url: `${oauth.url}/authorize`, token_url: `${oauth.url}/token`, revocation_url: `${oauth.url}/revoke`, client_id: oauth.clientId, client_secret: oauth.clientSecret, scopes: ['calendar.read'] }),
  );
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  expect(created.body).toMatchObject({ id: 'calendar', object: 'connection', client_secret: '[hidden]', scopes: ['calendar.read'] });
  const tool = await a.api.post('/v1/tools', {
    name: 'list_events',
    effect: 'read',
    input_schema: { type: 'object', properties: {} },
    executor: { type: 'http', url: `${tools.url}/calendar` },
    auth: { connection: 'calendar' },
  });
  expect(tool.status, JSON.stringify(tool.body)).toBe(201);
  expect((await a.api.patch('/v1/agents/assistant', { tools: ['list_events'] })).status).toBe(200);
  a.llm.respond((body) => {
    const last = (body.messages as { role: string; content: unknown }[]).at(-1)!;
    return last.role === 'tool' ? { text: `Tool said: ${JSON.stringify(last.content)}` } : { tool_calls: [{ name: 'list_events', arguments: {} }] };
  });
});
afterAll(async () => {
  await a?.llm.close();
  await oauth?.close();
  await tools?.close();
  await db?.end();
});

async function runFor(user: string | undefined): Promise<Json> {
  const session = remember(await a.api.post('/v1/sessions', { agent: 'assistant', ...(user ? { user_reference: user } : {}) }));
  expect(session.status).toBe(201);
  return remember(await a.api.post(`/v1/sessions/${session.body.id}/runs`, { input: 'What is on my calendar?', wait: true })).body;
}

const bearers = () => tools.requests.map((r) => r.headers.authorization);

/** Where events and the run object say the app gets the user's link (never the link itself). */
const linkEndpoint = (runId: string, toolCallId: string) => `${env().apiUrl}/v1/runs/${runId}/authorizations/${toolCallId}`;

const linkFor = (api: Api, pending: Json) => linkForFlow(api, pending, (body) => seen.push(JSON.stringify(body)));
const authorize = (api: Api, pending: Json) => authorizeFlow(api, pending, (body) => seen.push(JSON.stringify(body)));

describe('connected accounts', () => {
  let callback = '';
  let cookie = '';

  it('a new user is asked to authorize; following the URL resumes the run and the tool gets the bearer token', async () => {
    const run = await runFor('alice');
    expect(run.status).toBe('waiting_auth');
    expect(tools.requests).toHaveLength(0);
    const events = await allEvents(a.api, run.id);
    seen.push(JSON.stringify(events));
    const required = events.find((e) => e.type === 'auth.required')!;
    expect(required.data).toMatchObject({ connection: 'calendar', name: 'list_events' });
    // The event says where the run's app asks for the link, not the link.
    expect(required.data.authorization_url).toBe(linkEndpoint(run.id, required.data.tool_call_id));

    const link = await linkFor(a.api, required.data);
    expect(link).toMatchObject({ object: 'authorization_link', run_id: run.id, tool_call_id: required.data.tool_call_id, connection: 'calendar', user_reference: 'alice' });
    expect(link.authorization_url.startsWith(`${env().apiUrl}/v1/connections/calendar/authorize?request=`)).toBe(true);
    const { provider: url, cookie: bound } = await openLink(link.authorization_url);
    cookie = bound;
    expect(`${url.origin}${url.pathname}`).toBe(`${oauth.url}/authorize`);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({ response_type: 'code', client_id: oauth.clientId, scope: 'calendar.read', code_challenge_method: 'S256', redirect_uri: `${env().apiUrl}/v1/connections/calendar/callback` });
    expect(url.searchParams.get('state')!.length).toBeGreaterThanOrEqual(40);

    // The user's browser: the authorization server redirects back to the platform's callback.
    callback = await consent(url);
    expect(callback.startsWith(`${env().apiUrl}/v1/connections/calendar/callback?`)).toBe(true);
    const back = await fetch(callback, { headers: { cookie } });
    expect(back.status).toBe(200);
    expect(await back.text()).toContain('Connected');

    const done = remember({ body: await waitForStatus(a.api, run.id, ['completed'], 30_000) }).body;
    expect(done.output_text).toContain('standup at 9');
    expect(bearers()).toEqual([`Bearer ${oauth.issued[0]!.access_token}`]);
    const types = (await allEvents(a.api, run.id)).map((e) => e.type);
    expect(types.filter((t) => t === 'run.status_changed')).toHaveLength(4); // queued→running→waiting_auth→running→completed
    expect(types).toContain('tool_call.completed');
    const users = remember(await a.api.get('/v1/connections/calendar/tokens'));
    expect(users.body.data.map((u: Json) => u.user_reference)).toEqual(['alice']);
  });

  it('a forged, replayed or incomplete state is refused and stores nothing', async () => {
    const before = { requests: oauth.tokenRequests.length, rows: (await db.query('SELECT user_reference, access_token_enc FROM connection_tokens ORDER BY 1')).rows };
    const replayed = await fetch(callback, { headers: { cookie } });
    expect(replayed.status).toBe(400);
    expect(await replayed.text()).toContain('invalid_state');
    const forged = new URL(callback);
    forged.searchParams.set('state', 'forged-state-that-was-never-issued-by-the-platform');
    expect((await fetch(forged, { headers: { cookie } })).status).toBe(400);
    expect((await fetch(`${env().apiUrl}/v1/connections/calendar/callback?code=abc`, { headers: { cookie } })).status).toBe(400);
    // A browser carrying a binding cookie for a state of many-byte characters gets a 400, not a 500.
    const wide = 'é'.repeat(43);
    const wideCookie = `ap_oauth_${crypto.createHash('sha256').update(wide).digest('hex').slice(0, 16)}=${'n'.repeat(43)}`;
    expect((await fetch(`${env().apiUrl}/v1/connections/calendar/callback?state=${encodeURIComponent(wide)}&code=abc`, { headers: { cookie: wideCookie } })).status).toBe(400);
    // A real state for another connection's callback path is not accepted either.
    expect((await fetch(callback.replace('/connections/calendar/', '/connections/other/'), { headers: { cookie } })).status).toBe(400);
    expect(oauth.tokenRequests.length).toBe(before.requests);
    expect((await db.query('SELECT user_reference, access_token_enc FROM connection_tokens ORDER BY 1')).rows).toEqual(before.rows);
  });

  it('another session of the same user does not ask again; an expired token is refreshed without pausing', async () => {
    const second = await runFor('alice');
    expect(second.status).toBe('completed');
    expect((await allEvents(a.api, second.id)).map((e) => e.type)).not.toContain('auth.required');
    expect(bearers().at(-1)).toBe(`Bearer ${oauth.issued[0]!.access_token}`);

    // Time passes: the access token has expired.
    await db.query("UPDATE connection_tokens SET expires_at = now() - interval '1 minute' WHERE user_reference = 'alice'");
    const third = await runFor('alice');
    expect(third.status).toBe('completed');
    expect((await allEvents(a.api, third.id)).map((e) => e.type)).not.toContain('auth.required');
    expect(oauth.tokenRequests.filter((r) => r.grant_type === 'refresh_token')).toEqual([{ grant_type: 'refresh_token', ok: true }]);
    expect(oauth.issued[1]!.grant).toBe('refresh_token');
    expect(bearers().at(-1)).toBe(`Bearer ${oauth.issued[1]!.access_token}`);
  });

  it('a revoked authorization is revoked at the provider too and asked for again; a session without a user cannot use the tool', async () => {
    const revoked = remember(await a.api.delete('/v1/connections/calendar/tokens/alice'));
    expect(revoked.status).toBe(200);
    expect(revoked.body).toEqual({ object: 'connection.token', connection: 'calendar', user_reference: 'alice', deleted: true, provider_revoked: true });
    // RFC 7009: the current refresh token (the refresh above rotated it), with the client's credentials.
    expect(oauth.revocations).toEqual([{ token: oauth.issued[1]!.refresh_token, token_type_hint: 'refresh_token' }]);
    expectError(await a.api.delete('/v1/connections/calendar/tokens/alice'), 404, 'not_found_error', 'not_found');
    const again = await runFor('alice');
    expect(again.status).toBe('waiting_auth');
    await a.api.post(`/v1/runs/${again.id}/cancel`, {});
    const anonymous = await runFor(undefined);
    expect(anonymous.status).toBe('completed');
    const failed = (await allEvents(a.api, anonymous.id)).find((e) => e.type === 'tool_call.failed')!;
    expect(failed.data.error.code).toBe('user_reference_required');
  });

  it('a waiting run names its pending authorization on the run object, in a run.waiting_auth webhook and in the OpenAI-compatible answer', { timeout: 90_000 }, async () => {
    const receiver = await startReceiver();
    try {
      const hook = remember(await a.api.post('/v1/webhooks', { url: receiver.url, events: ['run.waiting_auth'] }));
      expect(hook.status, JSON.stringify(hook.body)).toBe(201);

      // Chat Completions without streaming: the answer ends with auth_required and the URL to follow.
      const chat = remember(await a.api.post('/v1/chat/completions', { model: 'assistant', messages: [{ role: 'user', content: 'What is on my calendar?' }], user: 'bob' }));
      expect(chat.status, JSON.stringify(chat.body)).toBe(200);
      expect(chat.body.choices[0].finish_reason).toBe('auth_required');
      const meta = chat.body.agent_metadata;
      expect(meta.status).toBe('waiting_auth');
      expect(meta.pending_authorizations).toHaveLength(1);
      const pending = meta.pending_authorizations[0];
      expect(pending).toMatchObject({ connection: 'calendar', name: 'list_events' });
      const runId = meta.execution_id as string;
      expect(pending.authorization_url).toBe(linkEndpoint(runId, pending.tool_call_id));

      // The same on the run object and in the auth.required event.
      const run = remember(await a.api.get(`/v1/runs/${runId}`));
      expect(run.body.status).toBe('waiting_auth');
      expect(run.body.pending_authorizations).toEqual([pending]);
      const required = (await allEvents(a.api, runId)).find((e) => e.type === 'auth.required')!;
      expect(required.data).toEqual(pending);

      // The webhook carries the run object with it.
      const delivered = await waitFor(async () => receiver.received.find((r) => JSON.parse(r.body).data?.id === runId), 'the run.waiting_auth delivery', 30_000);
      seen.push(delivered.body);
      const body = JSON.parse(delivered.body);
      expect(body.type).toBe('run.waiting_auth');
      expect(body.data.pending_authorizations).toEqual([pending]);

      // Streaming: the stream ends on the pause (it used to stay open until the run ended).
      const res = await fetch(`${a.api.base}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${a.api.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'assistant', messages: [{ role: 'user', content: 'And tomorrow?' }], user: 'carol', stream: true }),
        signal: AbortSignal.timeout(30_000),
      });
      expect(res.status).toBe(200);
      const frames = (await readSse(res)).map((m) => m.data);
      seen.push(JSON.stringify(frames));
      expect(frames.at(-1)).toBe('[DONE]');
      const chunks = frames.slice(0, -1).map((f) => JSON.parse(f));
      expect(chunks.flatMap((c) => c.choices.map((x: Json) => x.finish_reason)).filter(Boolean)).toEqual(['auth_required']);
      const complete = chunks.find((f) => f.agent_event?.type === 'agent_complete');
      expect(complete.agent_event.agent_metadata).toMatchObject({ status: 'waiting_auth', pending_authorizations: [{ connection: 'calendar' }] });
      const carolRun = complete.agent_event.agent_metadata.execution_id as string;

      // Once authorized, the run continues and nothing is pending any more.
      expect((await authorize(a.api, pending)).status).toBe(200);
      const done = remember({ body: await waitForStatus(a.api, runId, ['completed'], 30_000) }).body;
      expect(done.pending_authorizations).toEqual([]);
      expect((await a.api.post(`/v1/runs/${carolRun}/cancel`, {})).status).toBe(202);
      const canceled = remember({ body: await waitForStatus(a.api, carolRun, ['canceled'], 30_000) }).body;
      expect(canceled.pending_authorizations).toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  it("the published authorization_url is no credential: only the run's app gets a link, and it binds only the browser that opened it, once, for minutes", { timeout: 90_000 }, async () => {
    const receiver = await startReceiver();
    const hook = await a.api.post('/v1/webhooks', { url: receiver.url, events: ['run.waiting_auth'] });
    expect(hook.status).toBe(201);
    try {
      const run = await runFor('erin');
      expect(run.status).toBe('waiting_auth');
      const pending = run.pending_authorizations[0] as Json;
      const delivered = await waitFor(async () => receiver.received.find((r) => JSON.parse(r.body).data?.id === run.id), 'the run.waiting_auth delivery', 30_000);
      const required = (await allEvents(a.api, run.id)).find((e) => e.type === 'auth.required')!;
      // What every reader of events, webhooks and the run sees: no state, nothing a browser can follow.
      for (const published of [required.data.authorization_url, JSON.parse(delivered.body).data.pending_authorizations[0].authorization_url, pending.authorization_url]) {
        expect(published).toBe(linkEndpoint(run.id, pending.tool_call_id));
        const opened = await fetch(published, { redirect: 'manual' });
        expect(opened.status).toBe(401);
        expect(opened.headers.get('location')).toBeNull();
      }
      expect(JSON.stringify([required, delivered.body])).not.toContain(oauth.url);

      // Other keys of the workspace, an admin key included, get no link.
      const path = new URL(pending.authorization_url).pathname;
      const developer = new Api((await a.api.post('/v1/api_keys', { name: 'other-app', roles: ['developer'] })).body.key);
      const admin = new Api((await a.api.post('/v1/api_keys', { name: 'other-admin', roles: ['admin'] })).body.key);
      const auditor = new Api((await a.api.post('/v1/api_keys', { name: 'reader', roles: ['auditor'] })).body.key);
      for (const stranger of [developer, admin, auditor]) expectError(await stranger.post(path, {}), 403, 'permission_error', 'permission_denied');
      expectError(await a.api.post(`/v1/runs/${run.id}/authorizations/call_not_waiting`, {}), 404, 'not_found_error', 'not_found');

      // The app's link lives minutes, not the run's 90 days.
      const link = await linkFor(a.api, pending);
      const life = Date.parse(link.expires_at) - Date.now();
      expect(life).toBeGreaterThan(0);
      expect(life).toBeLessThanOrEqual(600_000);
      const tokensBefore = oauth.tokenRequests.length;
      const { provider, cookie: userCookie } = await openLink(link.authorization_url);
      // Opened once: whoever opens it again (a leaked copy) is refused.
      const again = await fetch(link.authorization_url, { redirect: 'manual' });
      expect(again.status).toBe(400);
      expect(await again.text()).toContain('invalid_state');

      // An attacker who saw the provider's URL (its logs, a Referer, the user's history) consents with their
      // own account in their own browser: the callback refuses it, calls no token endpoint and stores nothing.
      const attackerCallback = await consent(provider);
      const refused = await fetch(attackerCallback);
      expect(refused.status).toBe(400);
      expect(await refused.text()).toContain('invalid_state');
      const otherFlow = await openLink((await linkFor(a.api, pending)).authorization_url);
      expect((await fetch(attackerCallback, { headers: { cookie: otherFlow.cookie } })).status).toBe(400);
      expect(oauth.tokenRequests.length).toBe(tokensBefore);
      expect((await db.query("SELECT 1 FROM connection_tokens WHERE user_reference = 'erin'")).rows).toEqual([]);
      expect((await a.api.get(`/v1/runs/${run.id}`)).body.status).toBe('waiting_auth');

      // An expired link is refused; a new one is issued on demand.
      const stale = await linkFor(a.api, pending);
      await db.query("UPDATE connection_states SET expires_at = now() - interval '1 second' WHERE user_reference = 'erin' AND started_at IS NULL");
      expect((await fetch(stale.authorization_url, { redirect: 'manual' })).status).toBe(400);

      // The user's own browser completes the flow it started.
      const back = await fetch(await consent(provider), { headers: { cookie: userCookie } });
      expect(back.status).toBe(200);
      expect((await waitForStatus(a.api, run.id, ['completed'], 30_000)).output_text).toContain('standup at 9');
    } finally {
      await a.api.delete(`/v1/webhooks/${hook.body.id}`);
      await receiver.close();
    }
  });

  it("a session of a user is that user's: omitting user_reference does not reach it; only admins see who holds tokens", async () => {
    const owned = remember(await a.api.post('/v1/sessions', { agent: 'assistant', session_reference: 'ticket-erin', user_reference: 'erin' }));
    expect(owned.status).toBe(201);
    // Without a user_reference the caller would run with erin's tokens in her session.
    expectError(await a.api.post('/v1/sessions', { agent: 'assistant', session_reference: 'ticket-erin' }), 403, 'permission_error', 'permission_denied');
    expectError(await a.api.post('/v1/sessions', { agent: 'assistant', session_reference: 'ticket-erin', user_reference: 'mallory' }), 403, 'permission_error', 'permission_denied');
    const same = await a.api.post('/v1/sessions', { agent: 'assistant', session_reference: 'ticket-erin', user_reference: 'erin' });
    expect(same.status).toBe(200);
    expect(same.body.id).toBe(owned.body.id);
    // A session without a user stays open to callers without one.
    const anonymous = await a.api.post('/v1/sessions', { agent: 'assistant', session_reference: 'ticket-nobody' });
    expect((await a.api.post('/v1/sessions', { agent: 'assistant', session_reference: 'ticket-nobody' })).body.id).toBe(anonymous.body.id);

    const developer = new Api((await a.api.post('/v1/api_keys', { name: 'dev-holders', roles: ['developer'] })).body.key);
    const auditor = new Api((await a.api.post('/v1/api_keys', { name: 'auditor-holders', roles: ['auditor'] })).body.key);
    for (const k of [developer, auditor]) expectError(await k.get('/v1/connections/calendar/tokens'), 403, 'permission_error', 'permission_denied');
    expect((await developer.get('/v1/connections/calendar')).status).toBe(200);
    expect((await a.api.get('/v1/connections/calendar/tokens')).body.data.map((u: Json) => u.user_reference)).toContain('erin');
  });

  it('refuses hostile connection and tool definitions and stores nothing; another workspace sees nothing', async () => {
    const count = async () => Number((await db.query('SELECT count(*) FROM connections')).rows[0].count);
    const before = await count();
    const ok = { id: 'x1', authorize_url: `${oauth.url}/authorize`, token_url: `${oauth.url}/token`, client_id: 'c', client_secret: 's' };
    for (const bad of [
      { ...ok, id: '../evil' },
      { ...ok, authorize_url: 'javascript:alert(1)' },
      { ...ok, token_url: 'ftp://x/token' },
      { ...ok, revocation_url: 'file:///etc/passwd' },
      { ...ok, revocation_url: 42 },
      { ...ok, client_secret: '' },
      { ...ok, scopes: ['two words'] },
      { ...ok, scopes: 'calendar' },
      { ...ok, extra: true },
      { authorize_url: ok.authorize_url },
    ]) {
      expectError(await a.api.post('/v1/connections', bad), 400, 'invalid_request_error', 'validation_failed');
    }
    expectError(await a.api.post('/v1/connections', { ...ok, id: 'calendar' }), 409, 'conflict_error', 'already_exists');
    expect(await count()).toBe(before);
    const base = { effect: 'read', input_schema: { type: 'object' } };
    expectError(await a.api.post('/v1/tools', { ...base, name: 't1', executor: { type: 'http', url: `${tools.url}/x` }, auth: { connection: 'nope' } }), 400, 'invalid_request_error', 'unknown_connection');
    expectError(await a.api.post('/v1/tools', { ...base, name: 't2', executor: { type: 'client' }, auth: { connection: 'calendar' } }), 400, 'invalid_request_error', 'validation_failed');
    expectError(await a.api.post('/v1/tools', { ...base, name: 't3', executor: { type: 'http', url: `${tools.url}/x` }, auth: { connection: 'calendar', scopes: ['a b'] } }), 400, 'invalid_request_error', 'validation_failed');
    expect((await a.api.get('/v1/tools/t1')).status).toBe(404);
    expectError(await a.api.delete('/v1/connections/calendar'), 409, 'conflict_error', 'connection_in_use');
    // A developer reads, only an admin writes.
    const dev = new Api((await a.api.post('/v1/api_keys', { name: 'dev', roles: ['developer'] })).body.key);
    expect(remember(await dev.get('/v1/connections/calendar')).status).toBe(200);
    expectError(await dev.post('/v1/connections', ok), 403, 'permission_error', 'permission_denied');
    const stranger = await newWorkspace('connections-stranger');
    expectError(await stranger.get('/v1/connections/calendar'), 404, 'not_found_error', 'not_found');
    expectError(await stranger.get('/v1/connections/calendar/tokens'), 404, 'not_found_error', 'not_found');
    expect((await stranger.get('/v1/connections')).body.data).toEqual([]);
  });

  it('PATCH auth: null makes the tool an ordinary http tool again; then the connection can be deleted', async () => {
    expectError(await a.api.patch('/v1/tools/list_events', { auth: { connection: 'nope' } }), 400, 'invalid_request_error', 'unknown_connection');
    expectError(await a.api.patch('/v1/tools/list_events', { auth: 'calendar' }), 400, 'invalid_request_error', 'validation_failed');
    expect((await a.api.get('/v1/tools/list_events')).body.auth).toEqual({ connection: 'calendar' });
    const patched = await a.api.patch('/v1/tools/list_events', { auth: null });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    // A provider that fails the revocation: the tokens are gone here all the same, and the answer says so.
    oauth.revokeStatus = 503;
    const bobRevoked = remember(await a.api.delete('/v1/connections/calendar/tokens/bob'));
    expect(bobRevoked.body).toMatchObject({ deleted: true, provider_revoked: false });
    expect(oauth.revocations.at(-1)!.token_type_hint).toBe('refresh_token');
    expect((await a.api.get('/v1/connections/calendar/tokens')).body.data.map((u: Json) => u.user_reference)).not.toContain('bob');
    expect(patched.body.auth).toBeUndefined();
    expect(patched.body.executor).toMatchObject({ type: 'http', url: `${tools.url}/calendar` });
    const before = tools.requests.length;
    const run = await runFor('dave');
    expect(run.status).toBe('completed');
    expect((await allEvents(a.api, run.id)).map((e) => e.type)).not.toContain('auth.required');
    expect(tools.requests.slice(before).map((r) => r.headers.authorization)).toEqual([undefined]);
    expect(remember(await a.api.delete('/v1/connections/calendar')).status).toBe(200);
  });

  it('no token or client secret appears in any response, event or history', async () => {
    const runs = (await a.api.get('/v1/runs?limit=100')).body.data as Json[];
    for (const r of runs) {
      seen.push(JSON.stringify((await a.api.get(`/v1/runs/${r.id}/history`)).body));
      seen.push(JSON.stringify(await allEvents(a.api, r.id)));
    }
    const secrets = [oauth.clientSecret, ...oauth.issued.flatMap((t) => [t.access_token, t.refresh_token])];
    expect(secrets.length).toBeGreaterThanOrEqual(5);
    const text = seen.join('\n');
    expect(secrets.filter((s) => text.includes(s))).toEqual([]);
    // Stored encrypted only.
    const stored = JSON.stringify((await db.query('SELECT * FROM connections c LEFT JOIN connection_tokens t ON t.connection_id = c.id')).rows);
    expect(secrets.filter((s) => stored.includes(s))).toEqual([]);
  });
});
