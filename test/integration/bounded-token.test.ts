// An OAuth token endpoint answering more than 1 MiB (src/security/bounded-body.ts): the callback refuses
// the exchange with authorization_failed, stores no token, and the API stops reading the answer.
import { afterAll, describe, expect, it } from 'vitest';
import { startOAuthServer, type OAuthServer } from '../fixtures/oauth-server';
import { startToolServer, type ToolServer } from '../fixtures/tool-server';
import { allEvents, setupAgent, waitFor, type AgentSetup } from '../support/api';
import { authorize } from '../support/oauth-flow';

let oauth: OAuthServer | undefined;
let tools: ToolServer | undefined;
let a: AgentSetup | undefined;
afterAll(async () => {
  await a?.llm.close();
  await oauth?.close();
  await tools?.close();
});

describe('bounded token endpoint answers', () => {
  it('a token endpoint answering a huge body: the callback fails with authorization_failed and nothing is stored', async () => {
    oauth = await startOAuthServer();
    tools = await startToolServer();
    tools.route('/token', { flood_bytes: 24 * 1024 * 1024 });
    tools.route('/calendar', { body: { events: [] } });
    a = await setupAgent();
    const created = await a.api.post('/v1/connections', { id: 'calendar', authorize_url: `${oauth.url}/authorize`, token_url: `${tools.url}/token`, client_id: oauth.clientId, client_secret: oauth.clientSecret, scopes: ['calendar.read'] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const tool = await a.api.post('/v1/tools', { name: 'list_events', effect: 'read', input_schema: { type: 'object', properties: {} }, executor: { type: 'http', url: `${tools.url}/calendar` }, auth: { connection: 'calendar' } });
    expect(tool.status, JSON.stringify(tool.body)).toBe(201);
    expect((await a.api.patch('/v1/agents/assistant', { tools: ['list_events'] })).status).toBe(200);
    a.llm.reply({ tool_calls: [{ name: 'list_events', arguments: {} }] });
    const session = (await a.api.post('/v1/sessions', { agent: 'assistant', user_reference: 'alice' })).body;
    const run = (await a.api.post(`/v1/sessions/${session.id}/runs`, { input: 'calendar?', wait: true })).body;
    expect(run.status).toBe('waiting_auth');
    const required = (await allEvents(a.api, run.id)).find((e) => e.type === 'auth.required')!;
    const back = await authorize(a.api, required.data);
    expect(back.status).toBe(400);
    const page = await back.text();
    expect(page).toContain('authorization_failed');
    // The API closed the connection instead of reading on (the server sees it go away).
    await waitFor(async () => tools!.requests.find((r) => r.path === '/token')?.aborted, 'the token endpoint to be cut off');
    expect(tools.requests.find((r) => r.path === '/token')!.finished).toBe(false);
    expect((await a.api.get('/v1/connections/calendar/tokens')).body.data).toEqual([]);
  });
});
