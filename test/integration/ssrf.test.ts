// The private-network guard with AP_ALLOW_PRIVATE_NETWORK unset: outbound URLs of model cards and http
// tools that point at loopback, private or link-local addresses are refused when saved, in every
// spelling, and checked again on the resolved address when a run connects.
import crypto from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/temporal/dev-server';
import { anotherApi } from '../support/pair';
import { spawnAp, type ApProcess } from '../support/processes';
import { adminApi, Api, env, expectError, setupAgent, waitFor } from '../support/api';
import { startReceiver } from '../fixtures/webhook-receiver';
import { startToolServer } from '../fixtures/tool-server';
import { canary } from '../support/canaries';

// https: without the setting, http: is refused before the address is looked at (400, see below).
const PRIVATE_URLS = [
  'https://127.0.0.1:9/v1',
  'https://[::1]:9/v1',
  'https://169.254.169.254/latest',
  'https://2130706433/v1',
  'https://0177.0.0.1/v1',
  'https://10.0.0.1/v1',
  'https://localhost:9/v1',
  'https://[::ffff:127.0.0.1]:9/v1',
  // Blocks the guard's string comparisons missed: benchmarking, 6to4 and local-use NAT64 of private
  // addresses, deprecated site-local.
  'https://198.18.0.1/v1',
  'https://[2002:a00:1::1]/v1',
  'https://[64:ff9b:1::a00:1]/v1',
  'https://[fec0::1]/v1',
];

describe('private-network guard (AP_ALLOW_PRIVATE_NETWORK unset)', () => {
  let guarded: ApProcess;
  let api: Api;
  beforeAll(async () => {
    const { proc, port } = await anotherApi('api-guarded', { privateNetwork: false });
    guarded = proc;
    const ws = await adminApi().post('/v1/workspaces', { name: 'ssrf' });
    api = new Api(ws.body.admin_key, `http://127.0.0.1:${port}`);
  });
  afterAll(async () => guarded?.kill());

  it.each(PRIVATE_URLS)('refuses a model card with base_url %s', async (url) => {
    const res = await api.post('/v1/model_cards', { id: 'c', provider: 'openai', base_url: url, api_key: canary('ssrf'), default_model: 'm' });
    expectError(res, 403, 'permission_error', 'private_network_blocked');
    expect(res.body.error.param).toBe('base_url');
  });

  it.each(PRIVATE_URLS)('refuses an http tool with url %s', async (url) => {
    const res = await api.post('/v1/tools', { name: 't', effect: 'read', executor: { type: 'http', url } });
    expectError(res, 403, 'permission_error', 'private_network_blocked');
  });

  it.each(PRIVATE_URLS)('refuses a webhook endpoint at %s', async (url) => {
    expectError(await api.post('/v1/webhooks', { url, events: ['*'] }), 403, 'permission_error', 'private_network_blocked');
  });

  it('every outbound URL must be https without the setting (400 naming the field, nothing stored)', async () => {
    const res = await api.post('/v1/webhooks', { url: 'http://8.8.8.8/hooks', events: ['*'] });
    expectError(res, 400, 'invalid_request_error', 'validation_failed');
    expect(res.body.error.param).toBe('url');
    expect((await api.get('/v1/webhooks')).body.data).toEqual([]);
    const card = await api.post('/v1/model_cards', { id: 'plain', provider: 'openai', base_url: 'http://8.8.8.8/v1', api_key: canary('ssrf'), default_model: 'm' });
    expectError(card, 400, 'invalid_request_error', 'validation_failed');
    expect(card.body.error.param).toBe('base_url');
    expect((await api.get('/v1/model_cards/plain')).status).toBe(404);
    const tool = await api.post('/v1/tools', { name: 'plain', effect: 'read', executor: { type: 'http', url: 'http://8.8.8.8/x' } });
    expectError(tool, 400, 'invalid_request_error', 'validation_failed');
    expect(tool.body.error.param).toBe('executor.url');
    const conn = await api.post('/v1/connections', { id: 'plain', authorize_url: 'https://8.8.8.8/a', token_url: 'http://8.8.8.8/t', client_id: 'c', client_secret: canary('ssrf') });
    expectError(conn, 400, 'invalid_request_error', 'validation_failed');
    expect(conn.body.error.param).toBe('token_url');
  });

  it('is checked again when connected to: a worker without the setting refuses what another process saved', async () => {
    const e = env();
    const queue = `ap-ssrf-${crypto.randomUUID()}`;
    const port = await freePort();
    const common = { DATABASE_URL: e.databaseUrl, TEMPORAL_ADDRESS: e.temporalAddress, TEMPORAL_TASK_QUEUE: queue, AP_MASTER_KEY: e.masterKey, LOG_LEVEL: 'debug' };
    // The API may save private URLs (as a test setup would); its worker may not connect to them.
    const openApi = spawnAp(['api'], { ...common, AP_ALLOW_PRIVATE_NETWORK: 'true', AP_PORT: String(port) }, path.join(e.logDir, 'ssrf-open-api.log'));
    const guardedWorker = spawnAp(['worker'], common, path.join(e.logDir, 'ssrf-guarded-worker.log'));
    try {
      await Promise.all([openApi.ready, guardedWorker.ready]);
      const tools = await startToolServer();
      const s = await setupAgent();
      let cleanupReceiver: (() => Promise<void>) | undefined;
      try {
        const client = new Api(s.api.key, `http://127.0.0.1:${port}`);
        const receiver = await startReceiver();
        cleanupReceiver = () => receiver.close();
        const hook = (await client.post('/v1/webhooks', { url: receiver.url, events: ['run.failed'] })).body;
        // The model card points at loopback: the model call is refused at connect time.
        const blocked = (await client.post('/v1/runs', { agent: 'assistant', input: 'hi', wait: true })).body;
        expect(blocked).toMatchObject({ status: 'failed', error: { code: 'model_error' } });
        // Refused before any lookup: the saved URL is http, which this worker allows only with the setting.
        expect(blocked.error.message).toMatch(/https/);
        expect(s.llm.requests).toHaveLength(0);
        // So is the webhook delivery of that failure: recorded as failed, never sent.
        const delivery = await waitFor(async () => {
          const d = (await client.get(`/v1/webhooks/${hook.id}/deliveries`)).body.data[0];
          return d?.status === 'failed' ? d : undefined;
        }, 'the delivery to be refused');
        expect(delivery.attempts[0].error).toMatch(/https|private/);
        expect(receiver.received).toHaveLength(0);
      } finally {
        await cleanupReceiver?.();
        await s.llm.close();
        await tools.close();
      }
    } finally {
      await openApi.kill('SIGKILL');
      await guardedWorker.kill('SIGKILL');
    }
  });

  it('refuses a private URL on update too, and keeps what was stored', async () => {
    // probe: false, as nothing here may connect beyond loopback.
    expect((await api.post('/v1/model_cards', { id: 'public', provider: 'openai', base_url: 'https://8.8.8.8/v1', api_key: canary('ssrf'), default_model: 'm', probe: false })).status).toBe(201);
    expectError(await api.post('/v1/model_cards/public', { base_url: 'https://127.0.0.1/v1' }), 403, 'permission_error', 'private_network_blocked');
    expect((await api.get('/v1/model_cards/public')).body.base_url).toBe('https://8.8.8.8/v1');
    expect((await api.post('/v1/tools', { name: 'pub', effect: 'read', executor: { type: 'http', url: 'https://8.8.8.8/x' } })).status).toBe(201);
    expectError(await api.patch('/v1/tools/pub', { executor: { type: 'http', url: 'https://10.1.1.1/' } }), 403, 'permission_error', 'private_network_blocked');
    expect((await api.get('/v1/tools/pub')).body.executor.url).toBe('https://8.8.8.8/x');
  });
});
