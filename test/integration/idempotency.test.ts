// Idempotency-Key (API.md 1.3): one effect per key, replays marked, reuse with another body refused.
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { env, expectError, setupAgent, waitForStatus } from '../support/api';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('idempotency keys', () => {
  it('the same key and body return the first response again with Idempotent-Replayed and create one run', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    llm.reply({ text: 'only once' });
    const body = { agent: 'assistant', input: 'hello', wait: true };
    const first = await api.post('/v1/runs', body, { 'Idempotency-Key': 'order-42' });
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await api.post('/v1/runs', body, { 'Idempotency-Key': 'order-42' });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect((await api.get('/v1/runs')).body.data).toHaveLength(1);
    expect(llm.requests).toHaveLength(1);
    expectError(await api.post('/v1/runs', { ...body, input: 'something else' }, { 'Idempotency-Key': 'order-42' }), 422, 'invalid_request_error', 'idempotency_key_reused');
    expectError(await api.post('/v1/runs', body, { 'Idempotency-Key': 'x'.repeat(256) }), 400, 'invalid_request_error', 'validation_failed');
    expectError(await api.post('/v1/runs', body, { 'Idempotency-Key': 'tab\there' }), 400, 'invalid_request_error', 'validation_failed');
    expect((await api.get('/v1/runs')).body.data).toHaveLength(1);
  });

  it('20 concurrent requests with one key create exactly one run', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    llm.reply({ text: 'one' });
    const session = (await api.post('/v1/sessions', { agent: 'assistant' })).body;
    const results = await Promise.all(
      Array.from({ length: 20 }, () => api.post(`/v1/sessions/${session.id}/runs`, { input: 'hi' }, { 'Idempotency-Key': 'burst' })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.every((s) => s === 202 || s === 409)).toBe(true);
    for (const r of results.filter((x) => x.status === 409)) expect(r.body.error.code).toBe('idempotency_in_progress');
    const ids = new Set(results.filter((r) => r.status === 202).map((r) => r.body.id));
    expect(ids.size).toBe(1);
    expect((await api.get(`/v1/runs?session_id=${session.id}`)).body.data).toHaveLength(1);
    const replay = await api.post(`/v1/sessions/${session.id}/runs`, { input: 'hi' }, { 'Idempotency-Key': 'burst' });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe([...ids][0]);
  });

  it('errors are not stored: after a 409 the same key succeeds once the conflict is gone', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    const session = (await api.post('/v1/sessions', { agent: 'assistant' })).body;
    llm.reply({ text: 'slow', delay_ms: 1500 }, { text: 'second' });
    const first = (await api.post(`/v1/sessions/${session.id}/runs`, { input: 'one' })).body;
    expectError(await api.post(`/v1/sessions/${session.id}/runs`, { input: 'two' }, { 'Idempotency-Key': 'retry-me' }), 409, 'conflict_error', 'session_busy');
    await waitForStatus(api, first.id, ['completed']);
    const retried = await api.post(`/v1/sessions/${session.id}/runs`, { input: 'two' }, { 'Idempotency-Key': 'retry-me' });
    expect(retried.status).toBe(202);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
  });

  it('a replayed create shows its secret again, but the stored response is encrypted', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    const first = await api.post('/v1/api_keys', { name: 'ci', roles: ['developer'] }, { 'Idempotency-Key': 'make-key' });
    const again = await api.post('/v1/api_keys', { name: 'ci', roles: ['developer'] }, { 'Idempotency-Key': 'make-key' });
    expect(again.body.key).toBe(first.body.key);
    const db = new pg.Client({ connectionString: env().databaseUrl });
    await db.connect();
    try {
      const stored = await db.query("SELECT response_body::text AS body FROM idempotency_keys WHERE key = 'make-key'");
      expect(stored.rows.length).toBeGreaterThan(0);
      for (const r of stored.rows) expect(r.body).not.toContain(first.body.key);
    } finally {
      await db.end();
    }
  });

  it('keys are scoped to the workspace and also guard other creates (sessions, api keys)', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    const a = await api.post('/v1/sessions', { agent: 'assistant' }, { 'Idempotency-Key': 'k1' });
    const b = await api.post('/v1/sessions', { agent: 'assistant' }, { 'Idempotency-Key': 'k1' });
    expect(b.body.id).toBe(a.body.id);
    expect(b.status).toBe(201);
    expect((await api.get('/v1/sessions')).body.data).toHaveLength(1);
    const other = await setupAgent();
    cleanups.push(() => other.llm.close());
    const c = await other.api.post('/v1/sessions', { agent: 'assistant' }, { 'Idempotency-Key': 'k1' });
    expect(c.status).toBe(201);
    expect(c.body.id).not.toBe(a.body.id);
  });
});
