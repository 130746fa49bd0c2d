// Issue 9, item 1: API processes keep no state another process needs. Rate-limit windows and
// idempotency keys live in PostgreSQL, so two `ap api` processes behind a load balancer count and
// replay as one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anotherApi } from '../support/pair';
import type { ApProcess } from '../support/processes';
import { adminApi, Api, env, expectError, setupAgent, waitForStatus } from '../support/api';

let secondApi: { proc: ApProcess; port: number };
beforeAll(async () => {
  secondApi = await anotherApi('api-multi-process');
});
afterAll(async () => secondApi?.proc.kill());

describe('two API processes', () => {
  it("share one key's rate-limit window: requests alternating between them are limited together", async () => {
    const { api, llm } = await setupAgent();
    await llm.close();
    const ws = (await api.get('/v1/workspaces/current')).body.id as string;
    expect((await adminApi().patch(`/v1/workspaces/${ws}`, { rate_limit_per_minute: 6 })).status).toBe(200);
    const other = new Api(api.key, `http://127.0.0.1:${secondApi.port}`);
    // 12 requests, 6 to each process: a process-local window (6 per minute) would refuse none of them.
    // Windows are UTC minutes; starting early in one keeps all 12 in the same window.
    const second = new Date().getUTCSeconds();
    if (second > 50) await new Promise((r) => setTimeout(r, (61 - second) * 1000));
    const results = [];
    for (let i = 0; i < 12; i++) results.push(await (i % 2 ? other : api).get('/v1/agents'));
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expectError(limited[0]!, 429, 'rate_limit_error', 'rate_limited');
    // Both processes refused some: the window is the same one.
    expect(results.some((r, i) => r.status === 429 && i % 2 === 0)).toBe(true);
    expect(results.some((r, i) => r.status === 429 && i % 2 === 1)).toBe(true);
  });

  it('replay one Idempotency-Key: a create retried on the other process returns the same run; another body is 422', async () => {
    const { api, llm } = await setupAgent();
    llm.reply({ text: 'Once.' });
    const other = new Api(api.key, `http://127.0.0.1:${secondApi.port}`);
    const key = { 'idempotency-key': 'same-on-both' };
    const first = await api.post('/v1/runs', { agent: 'assistant', input: 'hi' }, key);
    expect(first.status).toBe(202);
    const again = await other.post('/v1/runs', { agent: 'assistant', input: 'hi' }, key);
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expectError(await other.post('/v1/runs', { agent: 'assistant', input: 'something else' }, key), 422, 'invalid_request_error', 'idempotency_key_reused');
    expect((await waitForStatus(api, first.body.id, ['completed'])).output_text).toBe('Once.');
    expect((await api.get('/v1/runs')).body.data).toHaveLength(1);
    expect(llm.requests).toHaveLength(1);
    await llm.close();
    expect(env().apiUrl).not.toBe(other.base);
  });
});
