// Run admission (issue 18): `max_active_runs` holds exactly under concurrent creates, and the
// per-workspace counter it reads (workspace_active_runs, kept by triggers on runs) equals the real
// number of active runs after every path that ends or removes a run: end of a run, a workflow start
// that fails, a session deleted, a retention purge.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import pino from 'pino';
import { Client, Connection } from '@temporalio/client';
import { adminApi, Api, env, expectError, setupAgent, waitFor, waitForStatus } from '../support/api';
import { loadConfig } from '../../src/config';
import { createRunInSession } from '../../src/services/runs';
import { purgeEndedRuns } from '../../src/services/retention';
import { createSecretBox } from '../../src/security/secrets';
import { createPool, type Db } from '../../src/db/pool';
import { PlatformError } from '../../src/domain/errors';
import { httpStatus } from '../../src/api/error-status';
import { runCreateSchema } from '../../src/domain/run';

let db: Db;
const cleanups: (() => Promise<void>)[] = [];
beforeAll(() => {
  db = createPool(env().databaseUrl, 2);
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
afterAll(async () => {
  await db?.end();
});

/** A model answer that streams for ~20 s (canceled runs abort it). */
const SLOW = { text: Array.from({ length: 400 }, (_, i) => `word${i}`).join(' '), chunk_delay_ms: 50 };

async function workspaceId(api: Api): Promise<string> {
  return (await api.get('/v1/workspaces/current')).body.id;
}

/** The admission counter and the count of the workspace's runs that are not terminal. */
async function counts(ws: string): Promise<{ counter: number; active: number }> {
  const r = await db.query<{ counter: number; active: number }>(
    `SELECT COALESCE((SELECT active FROM workspace_active_runs WHERE workspace_id = $1), 0) AS counter,
            (SELECT count(*)::int FROM runs WHERE workspace_id = $1 AND status NOT IN ('completed', 'failed', 'canceled')) AS active`,
    [ws],
  );
  return r.rows[0]!;
}

async function cancelAll(api: Api, ids: string[]): Promise<void> {
  for (const id of ids) expect((await api.post(`/v1/runs/${id}/cancel`, {})).status).toBe(202);
  for (const id of ids) await waitForStatus(api, id, ['canceled'], 15_000);
}

describe('run admission', () => {
  it('at max_active_runs 5, 40 concurrent creates admit exactly 5; the other 35 get 429 too_many_active_runs with Retry-After', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    const ws = await workspaceId(api);
    await adminApi().patch(`/v1/workspaces/${ws}`, { max_active_runs: 5 });
    llm.respond(() => SLOW);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => api.post('/v1/runs', { agent: 'assistant', input: `run ${i}` })));
    const admitted = results.filter((r) => r.status === 202).map((r) => r.body.id as string);
    const refused = results.filter((r) => r.status !== 202);
    expect(admitted).toHaveLength(5);
    expect(refused).toHaveLength(35);
    for (const r of refused) {
      expectError(r, 429, 'rate_limit_error', 'too_many_active_runs');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(await counts(ws)).toEqual({ counter: 5, active: 5 });
    // Refused creates leave neither a run nor a session behind.
    expect((await api.get('/v1/runs?limit=100')).body.data).toHaveLength(5);
    expect((await api.get('/v1/sessions?limit=100')).body.data).toHaveLength(5);
    await cancelAll(api, admitted);
    expect(await counts(ws)).toEqual({ counter: 0, active: 0 });
  });

  it('once admitted runs end (canceled or completed) creates are admitted again, and the counter equals the active runs', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    const ws = await workspaceId(api);
    await adminApi().patch(`/v1/workspaces/${ws}`, { max_active_runs: 2 });
    llm.respond(() => SLOW);
    const first = (await api.post('/v1/runs', { agent: 'assistant', input: 'a' })).body;
    const second = (await api.post('/v1/runs', { agent: 'assistant', input: 'b' })).body;
    expectError(await api.post('/v1/runs', { agent: 'assistant', input: 'c' }), 429, 'rate_limit_error', 'too_many_active_runs');
    expect(await counts(ws)).toEqual({ counter: 2, active: 2 });

    await cancelAll(api, [first.id]);
    expect(await counts(ws)).toEqual({ counter: 1, active: 1 });
    llm.reply({ text: 'quick' });
    const third = await api.post('/v1/runs', { agent: 'assistant', input: 'd', wait: true });
    expect(third.body.status).toBe('completed');
    expect(await counts(ws)).toEqual({ counter: 1, active: 1 });

    await cancelAll(api, [second.id]);
    // A failed run ends too: the model answers 400, which fails the step without a retry.
    llm.respond(() => ({ status: 400 }));
    const failed = (await api.post('/v1/runs', { agent: 'assistant', input: 'e' })).body;
    await waitForStatus(api, failed.id, ['failed'], 60_000);
    expect(await counts(ws)).toEqual({ counter: 0, active: 0 });
    llm.respond(() => SLOW);
    const again = [(await api.post('/v1/runs', { agent: 'assistant', input: 'f' })), (await api.post('/v1/runs', { agent: 'assistant', input: 'g' }))];
    expect(again.map((r) => r.status)).toEqual([202, 202]);
    expect(await counts(ws)).toEqual({ counter: 2, active: 2 });
    await cancelAll(api, again.map((r) => r.body.id as string));
    expect(await counts(ws)).toEqual({ counter: 0, active: 0 });
  });

  it('a workflow start that fails removes the queued run and its count: the session is free and the counter right', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    const ws = await workspaceId(api);
    const session = (await api.post('/v1/sessions', { agent: 'assistant' })).body;
    // The create service as the API runs it, with a Temporal server that is not there (no gRPC retries).
    const e = env();
    const temporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1', interceptors: [] }), namespace: e.namespace });
    cleanups.push(() => temporal.connection.close());
    const config = loadConfig({ DATABASE_URL: e.databaseUrl, TEMPORAL_ADDRESS: '127.0.0.1:1', AP_MASTER_KEY: e.masterKey });
    const principal = { workspace_id: ws, workspace_name: 'test', key_id: 'key_admission_test', key_name: 'test', roles: ['admin' as const] };
    const failure = await createRunInSession({ db, config, temporal, log: pino({ level: 'silent' }) }, principal, session.id, runCreateSchema.parse({ input: 'hi' }), 'req_admission_test').catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(PlatformError);
    expect(failure).toMatchObject({ code: 'temporal_unavailable', type: 'api_error' });
    expect(httpStatus(failure as PlatformError)).toBe(503);
    expect((await db.query('SELECT count(*)::int AS n FROM runs WHERE session_id = $1', [session.id])).rows[0].n).toBe(0);
    expect(await counts(ws)).toEqual({ counter: 0, active: 0 });
    // The real API then admits a run into the same session.
    llm.reply({ text: 'fine' });
    expect((await api.post(`/v1/sessions/${session.id}/runs`, { input: 'again', wait: true })).body.status).toBe('completed');
    expect(await counts(ws)).toEqual({ counter: 0, active: 0 });
  });

  it('deleting a session and purging ended runs leave the counter equal to the active runs', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    const ws = await workspaceId(api);
    llm.reply({ text: 'done' }, { text: 'done too' });
    const ended = (await api.post('/v1/runs', { agent: 'assistant', input: 'a', wait: true })).body;
    const purged = (await api.post('/v1/runs', { agent: 'assistant', input: 'b', wait: true })).body;
    expect([ended.status, purged.status]).toEqual(['completed', 'completed']);
    llm.respond(() => SLOW);
    const active = (await api.post('/v1/runs', { agent: 'assistant', input: 'c' })).body;
    await waitFor(async () => (await api.get(`/v1/runs/${active.id}`)).body.status === 'running', 'the slow run to be running');
    expect(await counts(ws)).toEqual({ counter: 1, active: 1 });

    expect((await api.delete(`/v1/sessions/${ended.session_id}`)).status).toBe(200);
    expect(await counts(ws)).toEqual({ counter: 1, active: 1 });
    expect(await purgeEndedRuns(db, createSecretBox([Buffer.from(env().masterKey, 'base64')]).audit, 0, ws)).toBe(1);
    expect(await counts(ws)).toEqual({ counter: 1, active: 1 });

    await cancelAll(api, [active.id]);
    expect(await counts(ws)).toEqual({ counter: 0, active: 0 });
    // The purged run's session goes too, and with it the last row: the counter stays 0.
    expect((await api.delete(`/v1/sessions/${purged.session_id}`)).status).toBe(200);
    expect((await api.delete(`/v1/sessions/${active.session_id}`)).status).toBe(200);
    expect(await counts(ws)).toEqual({ counter: 0, active: 0 });
  });
});
