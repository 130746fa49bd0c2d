// Webhooks: signed per Standard Webhooks (verified with the official library), retried durably with a
// stable webhook-id, disabled by 410, and delivered across process restarts.
import crypto from 'node:crypto';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { stablePort, startDevServer } from '../../src/temporal/dev-server';
import { startReceiver } from '../fixtures/webhook-receiver';
import { spawnAp, type ApProcess } from '../support/processes';
import { Api, env, expectError, setupAgent, waitFor } from '../support/api';

const cleanups: (() => Promise<void>)[] = [];
const procs: ApProcess[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill('SIGKILL');
  for (const c of cleanups.splice(0)) await c();
});

const headersOf = (h: Record<string, unknown>) => ({ 'webhook-id': String(h['webhook-id']), 'webhook-timestamp': String(h['webhook-timestamp']), 'webhook-signature': String(h['webhook-signature']) });

describe('webhooks', () => {
  it('a completed run is delivered, signed, with the run as data; the secret is shown once', async () => {
    const receiver = await startReceiver();
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close(), () => receiver.close());
    const created = await api.post('/v1/webhooks', { url: receiver.url, events: ['run.completed'], description: 'ops' });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_/);
    expect(created.body.id).toMatch(/^whk_/);
    expect(JSON.stringify((await api.get(`/v1/webhooks/${created.body.id}`)).body)).not.toContain(created.body.secret);
    llm.reply({ text: 'done' });
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'hi', wait: true })).body;
    await waitFor(async () => receiver.received.length === 1, 'the delivery');
    const got = receiver.received[0]!;
    const payload = new Webhook(created.body.secret).verify(got.body, headersOf(got.headers)) as { type: string; data: { id: string; status: string } };
    expect(payload).toMatchObject({ type: 'run.completed', data: { id: run.id, status: 'completed' } });
    const deliveries = await waitFor(async () => {
      const d = (await api.get(`/v1/webhooks/${created.body.id}/deliveries`)).body.data;
      return d[0]?.status === 'succeeded' ? d : undefined;
    }, 'the delivery to be recorded');
    expect(deliveries[0]).toMatchObject({ event_type: 'run.completed', webhook_id: got.headers['webhook-id'], attempts: [{ status_code: 200 }] });
  });

  it('500, 500, 200: three attempts with one webhook-id and fresh signatures', async () => {
    const receiver = await startReceiver([500, 500, 200]);
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close(), () => receiver.close());
    const hook = (await api.post('/v1/webhooks', { url: receiver.url, events: ['*'] })).body;
    llm.reply({ text: 'done' });
    await api.post('/v1/runs', { agent: 'assistant', input: 'hi', wait: true });
    await waitFor(async () => receiver.received.length === 3, 'three attempts', 20_000);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    for (const r of receiver.received) expect(() => new Webhook(hook.secret).verify(r.body, headersOf(r.headers))).not.toThrow();
    const d = await waitFor(async () => {
      const list = (await api.get(`/v1/webhooks/${hook.id}/deliveries`)).body.data;
      return list[0]?.status === 'succeeded' ? list[0] : undefined;
    }, 'the delivery to succeed');
    expect(d.attempts.map((a: { status_code: number }) => a.status_code)).toEqual([500, 500, 200]);
  });

  it('a redirect is a failed attempt, not followed', async () => {
    const receiver = await startReceiver([302, 200]);
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close(), () => receiver.close());
    const hook = (await api.post('/v1/webhooks', { url: receiver.url, events: ['run.completed'] })).body;
    llm.reply({ text: 'done' });
    await api.post('/v1/runs', { agent: 'assistant', input: 'hi', wait: true });
    const d = await waitFor(async () => {
      const list = (await api.get(`/v1/webhooks/${hook.id}/deliveries`)).body.data;
      return list[0]?.status === 'succeeded' ? list[0] : undefined;
    }, 'the retry to succeed');
    expect(d.attempts.map((a: { status_code: number; error: string | null }) => [a.status_code, a.error])).toEqual([[302, 'redirect (302) not followed'], [200, null]]);
  });

  it('410 from the receiver disables the endpoint', async () => {
    const receiver = await startReceiver([410]);
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close(), () => receiver.close());
    const hook = (await api.post('/v1/webhooks', { url: receiver.url, events: ['run.completed'] })).body;
    llm.reply({ text: 'one' }, { text: 'two' });
    await api.post('/v1/runs', { agent: 'assistant', input: 'hi', wait: true });
    await waitFor(async () => (await api.get(`/v1/webhooks/${hook.id}`)).body.status === 'disabled', 'the endpoint to be disabled');
    await api.post('/v1/runs', { agent: 'assistant', input: 'again', wait: true });
    expect(receiver.received).toHaveLength(1);
  });

  it('after a rotation deliveries carry both signatures during the grace period', async () => {
    const receiver = await startReceiver();
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close(), () => receiver.close());
    const hook = (await api.post('/v1/webhooks', { url: receiver.url, events: ['run.completed'] })).body;
    const rotated = (await api.post(`/v1/webhooks/${hook.id}/rotate_secret`, {})).body;
    expect(rotated.secret).not.toBe(hook.secret);
    expect(rotated.previous_secret_valid_until).not.toBeNull();
    llm.reply({ text: 'done' });
    await api.post('/v1/runs', { agent: 'assistant', input: 'hi', wait: true });
    await waitFor(async () => receiver.received.length === 1, 'the delivery');
    const got = receiver.received[0]!;
    expect(String(got.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(() => new Webhook(rotated.secret).verify(got.body, headersOf(got.headers))).not.toThrow();
    expect(() => new Webhook(hook.secret).verify(got.body, headersOf(got.headers))).not.toThrow();
    expectError(await api.post('/v1/webhooks', { url: receiver.url, events: ['run.exploded'] }), 400, 'invalid_request_error', 'validation_failed');
    expect((await api.delete(`/v1/webhooks/${hook.id}`)).body.deleted).toBe(true);
  });

  it('a delivery survives a restart of every process (Temporal, API, worker) between attempts', async () => {
    const e = env();
    // A Temporal server of this test's own, on a SQLite file, so that it can be killed and restarted.
    const temporalDb = path.join(e.runDir, `webhooks-temporal-${crypto.randomUUID()}.db`);
    const temporalPort = await stablePort();
    const startTemporal = () => startDevServer({ binary: e.temporalCli, namespace: 'default', dbFile: temporalDb, port: temporalPort, logFile: path.join(e.logDir, 'webhooks-temporal.log') });
    let temporal = await startTemporal();
    cleanups.push(() => temporal.stop());
    const queue = `ap-webhooks-${crypto.randomUUID()}`;
    const port = await stablePort();
    const base = { DATABASE_URL: e.databaseUrl, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_TASK_QUEUE: queue, AP_MASTER_KEY: e.masterKey, AP_ALLOW_PRIVATE_NETWORK: 'true', LOG_LEVEL: 'debug', AP_WEBHOOK_RETRY_SCHEDULE: '4,1' };
    const api = spawnAp(['api'], { ...base, AP_PORT: String(port) }, path.join(e.logDir, 'webhooks-api.log'));
    const worker1 = spawnAp(['worker'], base, path.join(e.logDir, 'webhooks-worker1.log'));
    procs.push(api, worker1);
    await Promise.all([api.ready, worker1.ready]);
    const receiver = await startReceiver([500, 200]);
    const s = await setupAgent();
    cleanups.push(() => s.llm.close(), () => receiver.close());
    const client = new Api(s.api.key, `http://127.0.0.1:${port}`);
    await client.post('/v1/webhooks', { url: receiver.url, events: ['run.completed'] });
    s.llm.reply({ text: 'done' });
    await client.post('/v1/runs', { agent: 'assistant', input: 'hi', wait: true });
    await waitFor(async () => receiver.received.length === 1, 'the first attempt');
    await worker1.kill('SIGKILL');
    await api.kill('SIGKILL');
    temporal.process.kill('SIGKILL');
    await new Promise((r) => temporal.process.once('exit', r));
    temporal = await startTemporal();
    const worker2 = spawnAp(['worker'], base, path.join(e.logDir, 'webhooks-worker2.log'));
    const api2 = spawnAp(['api'], { ...base, AP_PORT: String(port) }, path.join(e.logDir, 'webhooks-api2.log'));
    procs.push(worker2, api2);
    await Promise.all([worker2.ready, api2.ready]);
    // After a SIGKILL the dev server re-reads its timers from SQLite; under a loaded CI that has taken over 30 s.
    await waitFor(async () => receiver.received.length === 2, 'the retry after the restart', 90_000);
    expect(receiver.received.map((r) => r.status)).toEqual([500, 200]);
    expect(receiver.received[0]!.headers['webhook-id']).toBe(receiver.received[1]!.headers['webhook-id']);
  }, 180_000);
});
