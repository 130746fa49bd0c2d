// Session resolution by session_reference / user_reference (API.md 3), and session deletion.
import { afterEach, describe, expect, it } from 'vitest';
import { expectError, setupAgent, waitForStatus } from '../support/api';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('sessions', () => {
  it('a session_reference returns the existing session (200); another user_reference is 403', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    const first = await api.post('/v1/sessions', { agent: 'assistant', session_reference: 'ticket-1', user_reference: 'alice' });
    expect(first.status).toBe(201);
    const again = await api.post('/v1/sessions', { agent: 'assistant', session_reference: 'ticket-1', user_reference: 'alice' });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expectError(await api.post('/v1/sessions', { agent: 'assistant', session_reference: 'ticket-1', user_reference: 'mallory' }), 403, 'permission_error', 'permission_denied');
    const other = await api.post('/v1/sessions', { agent: 'assistant', session_reference: 'ticket-2' });
    expect(other.status).toBe(201);
    expect((await api.get('/v1/sessions?user_reference=alice')).body.data.map((s: { id: string }) => s.id)).toEqual([first.body.id]);
    expect((await api.get('/v1/sessions?agent=assistant')).body.data).toHaveLength(2);
  });

  it('DELETE removes transcript and events, and is 409 session_busy while a run is active', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    const s = (await api.post('/v1/sessions', { agent: 'assistant' })).body;
    llm.reply({ text: 'slow', delay_ms: 1200 });
    const run = (await api.post(`/v1/sessions/${s.id}/runs`, { input: 'hi' })).body;
    expectError(await api.delete(`/v1/sessions/${s.id}`), 409, 'conflict_error', 'session_busy');
    await waitForStatus(api, run.id, ['completed']);
    expect((await api.delete(`/v1/sessions/${s.id}`)).body).toEqual({ id: s.id, object: 'session', deleted: true });
    expectError(await api.get(`/v1/sessions/${s.id}`), 404, 'not_found_error', 'not_found');
    expectError(await api.get(`/v1/runs/${run.id}`), 404, 'not_found_error', 'not_found');
    expectError(await api.get(`/v1/runs/${run.id}/events`), 404, 'not_found_error', 'not_found');
  });
});
