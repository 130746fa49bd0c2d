// Budgets and rate limits: 402 when the workspace's token budget is used up (and a run that crosses it
// fails), 429 with Retry-After past the per-key rate, the per-workspace rate and the active-run cap.
import { afterEach, describe, expect, it } from 'vitest';
import { adminApi, Api, expectError, setupAgent, waitForStatus } from '../support/api';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function workspaceId(api: Api): Promise<string> {
  return (await api.get('/v1/workspaces/current')).body.id;
}

describe('limits', () => {
  it('token budget: a run that crosses it fails with budget_exceeded, the next create is 402', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    const ws = await workspaceId(api);
    expectError(await api.patch(`/v1/workspaces/${ws}`, { token_budget: 30 }), 403, 'permission_error', 'permission_denied');
    const set = await adminApi().patch(`/v1/workspaces/${ws}`, { token_budget: 30 });
    expect(set.body.limits).toMatchObject({ token_budget: 30 });
    llm.reply({ text: 'first', usage: { input_tokens: 11, output_tokens: 7 } }, { text: 'second', usage: { input_tokens: 11, output_tokens: 7 } });
    expect((await api.post('/v1/runs', { agent: 'assistant', input: 'a', wait: true })).body.status).toBe('completed');
    const crossing = (await api.post('/v1/runs', { agent: 'assistant', input: 'b', wait: true })).body;
    expect(crossing).toMatchObject({ status: 'failed', error: { code: 'budget_exceeded' } });
    expectError(await api.post('/v1/runs', { agent: 'assistant', input: 'c' }), 402, 'budget_error', 'budget_exceeded');
    expect((await api.get('/v1/runs')).body.data).toHaveLength(2);
    await adminApi().patch(`/v1/workspaces/${ws}`, { token_budget: null });
    llm.reply({ text: 'unlimited again' });
    expect((await api.post('/v1/runs', { agent: 'assistant', input: 'd', wait: true })).body.status).toBe('completed');
  });

  it('per-key rate limit answers 429 rate_limited with Retry-After', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    const other = new Api((await api.post('/v1/api_keys', { name: 'x', roles: ['developer'] })).body.key);
    await adminApi().patch(`/v1/workspaces/${await workspaceId(api)}`, { rate_limit_per_minute: 5 });
    // 12 requests: however a minute boundary splits them, one window sees more than 5.
    const results = [];
    for (let i = 0; i < 12; i++) results.push(await api.get('/v1/agents'));
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expectError(limited[0]!, 429, 'rate_limit_error', 'rate_limited');
    const retry = Number(limited[0]!.headers.get('retry-after'));
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
    // The operator's limit is the workspace's: another key of it is counted in the same window (tried
    // again after 6 more requests should a minute boundary fall just before it).
    let otherStatus = 0;
    for (let attempt = 0; attempt < 3 && otherStatus !== 429; attempt++) {
      for (let i = 0; i < 6; i++) await api.get('/v1/agents');
      otherStatus = (await other.get('/v1/agents')).status;
    }
    expect(otherStatus).toBe(429);
  });

  it('the rate is limited per workspace as well: keys minted by its admin share one budget', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    // Fresh keys: the setup's requests above counted in the admin key's window.
    const keys: Api[] = [];
    for (const name of ['first', 'second', 'third']) keys.push(new Api((await api.post('/v1/api_keys', { name, roles: ['developer'] })).body.key));
    await adminApi().patch(`/v1/workspaces/${await workspaceId(api)}`, { rate_limit_per_minute: 5 });
    // 4 requests per key, never over 5 for any one key; 12 for the workspace, so that however a minute
    // boundary splits them one of its windows sees more than 5.
    const results = [];
    for (let i = 0; i < 12; i++) results.push(await keys[i % 3]!.get('/v1/agents'));
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expectError(limited[0]!, 429, 'rate_limit_error', 'rate_limited');
    expect(limited[0]!.body.error.message).toContain('workspace');
    expect(Number(limited[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another workspace has a budget of its own.
    const other = await setupAgent();
    cleanups.push(() => other.llm.close());
    expect((await other.api.get('/v1/agents')).status).toBe(200);
  });

  it('the per-workspace cap on active runs answers 429 too_many_active_runs', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    await adminApi().patch(`/v1/workspaces/${await workspaceId(api)}`, { max_active_runs: 1 });
    llm.reply({ text: 'slow', delay_ms: 1500 }, { text: 'later' });
    const first = (await api.post('/v1/runs', { agent: 'assistant', input: 'a' })).body;
    const second = await api.post('/v1/runs', { agent: 'assistant', input: 'b' });
    expectError(second, 429, 'rate_limit_error', 'too_many_active_runs');
    expect(second.headers.get('retry-after')).toBe('5');
    await waitForStatus(api, first.id, ['completed']);
    const after = await api.post('/v1/runs', { agent: 'assistant', input: 'b', wait: true });
    expect(after.body).toMatchObject({ status: 'completed' });
  });
});
