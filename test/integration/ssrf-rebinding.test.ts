// The private-network guard at connect time: a name that answered a public address when it was saved
// and answers loopback afterwards (DNS rebinding) is refused by the connection itself, and no outbound
// call follows a redirect. Safety: nothing here may connect beyond loopback. The only non-loopback
// answer (a public address) is given once per name, to the API's save-time check, which does not connect;
// the test asserts it was consumed there before anything can run. Every later answer is 127.0.0.1.
// URLs are https (the guarded API refuses http): the connection is refused before any TLS handshake.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type DnsServer } from '../fixtures/dns-server';
import { startFakeLlm } from '../fixtures/fake-llm';
import { startReceiver } from '../fixtures/webhook-receiver';
import { startToolServer } from '../fixtures/tool-server';
import { adminApi, Api, newWorkspace, setupAgent, waitFor, waitForStatus } from '../support/api';
import { canary } from '../support/canaries';
import { startPair, type Pair } from '../support/pair';

// A public address (documentation ranges such as TEST-NET-1 are refused by the guard), never connected to.
const PUBLIC = '8.8.8.8';
const LOOPBACK = '127.0.0.1';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const portOf = (url: string): string => new URL(url).port;

describe('DNS rebinding (AP_ALLOW_PRIVATE_NETWORK unset, names resolved by a test DNS server)', () => {
  let dns: DnsServer;
  let pair: Pair;
  beforeAll(async () => {
    dns = await startDnsServer();
    // Both processes guarded: the API checks when saving, the worker when connecting.
    pair = await startPair('ssrf-rebinding', { both: { AP_ALLOW_PRIVATE_NETWORK: '', AP_DNS_SERVERS: dns.address } });
  });
  afterAll(async () => {
    await pair?.api.kill('SIGKILL');
    await pair?.worker.kill('SIGKILL');
    await dns?.close();
  });

  async function guardedWorkspace(): Promise<Api> {
    const ws = await adminApi().post('/v1/workspaces', { name: 'ssrf-rebinding' });
    expect(ws.status).toBe(201);
    return new Api(ws.body.admin_key, `http://127.0.0.1:${pair.port}`);
  }

  /** Saves through the guarded API while the name answers public exactly once; loopback from then on. */
  async function saveWhilePublic(name: string, save: () => Promise<{ status: number }>): Promise<void> {
    dns.answer(name, PUBLIC, LOOPBACK);
    expect((await save()).status).toBe(201);
    // The public answer went to the save-time check (which never connects): nothing later can get it.
    expect(dns.answered(name)).toEqual([PUBLIC]);
  }

  /** The worker resolved the name again when connecting, and got loopback only. */
  function expectConnectTimeLookup(name: string): void {
    const later = dns.answered(name).slice(1);
    expect(later.length).toBeGreaterThan(0);
    expect(later.every((ip) => ip === LOOPBACK)).toBe(true);
  }

  it('a name resolving to an internal address is refused with a message naming neither the name nor the address', async () => {
    const api = await guardedWorkspace();
    // 198.18.0.0/15 (benchmarking) slipped through the string comparisons; 10/8 is the classic.
    for (const [name, ip] of [['billing.corp.test', '10.20.30.40'], ['bench.corp.test', '198.18.7.7']] as const) {
      dns.answer(name, ip);
      const res = await api.post('/v1/model_cards', { id: 'internal', provider: 'openai', base_url: `https://${name}/v1`, api_key: canary('rebinding'), default_model: 'm' });
      expect(res.status).toBe(403);
      expect(res.body.error).toMatchObject({ code: 'private_network_blocked', param: 'base_url' });
      expect(JSON.stringify(res.body)).not.toContain(name);
      expect(JSON.stringify(res.body)).not.toContain(ip);
    }
    expect((await api.get('/v1/model_cards')).body.data).toEqual([]);
  });

  it('a model card whose base_url rebinds to loopback: the run fails with the private-network error, the provider gets nothing', async () => {
    const api = await guardedWorkspace();
    const llm = await startFakeLlm('openai');
    cleanups.push(() => llm.close());
    const name = 'llm.rebinding.test';
    await saveWhilePublic(name, () =>
      // Unprobed: the probe's own connection would be refused (the next test); the worker's is under test here.
      api.post('/v1/model_cards', { id: 'rebound', provider: 'openai', base_url: `https://${name}:${portOf(llm.url)}/v1`, api_key: canary('rebinding'), default_model: 'm', probe: false }),
    );
    expect((await api.post('/v1/agents', { name: 'assistant', model: { card: 'rebound' }, instructions: 'test' })).status).toBe(201);
    const started = (await api.post('/v1/runs', { agent: 'assistant', input: 'hi', wait: true })).body;
    const run = await waitForStatus(api, started.id, ['completed', 'failed', 'canceled']);
    expect(run).toMatchObject({ status: 'failed', error: { code: 'model_error' } });
    expect(run.error.message).toMatch(/private or loopback/);
    expectConnectTimeLookup(name);
    expect(llm.requests).toHaveLength(0);
  });

  it('the model-card probe connects through the guard: a base_url that rebinds to loopback after the save-time check is refused, nothing stored', async () => {
    const api = await guardedWorkspace();
    const llm = await startFakeLlm('openai');
    cleanups.push(() => llm.close());
    const name = 'probe.rebinding.test';
    dns.answer(name, PUBLIC, LOOPBACK);
    const res = await api.post('/v1/model_cards', { id: 'probed', provider: 'openai', base_url: `https://${name}:${portOf(llm.url)}/v1`, api_key: canary('rebinding'), default_model: 'm' });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ code: 'private_network_blocked', param: 'base_url' });
    expect(JSON.stringify(res.body)).not.toContain(name);
    // The public answer went to the save-time check; the probe's connection looked the name up again.
    expect(dns.answered(name)[0]).toBe(PUBLIC);
    expectConnectTimeLookup(name);
    expect(llm.probeRequests).toHaveLength(0);
    expect((await api.get('/v1/model_cards')).body.data).toEqual([]);
  });

  it('an http tool whose url rebinds to loopback: the call fails with private_network_blocked, the tool gets nothing', async () => {
    const api = await guardedWorkspace();
    const tools = await startToolServer();
    cleanups.push(() => tools.close());
    tools.route('/lookup', { body: { found: true } });
    const name = 'tool.rebinding.test';
    await saveWhilePublic(name, () => api.post('/v1/tools', { name: 'lookup', effect: 'read', executor: { type: 'http', url: `https://${name}:${portOf(tools.url)}/lookup` } }));
    const started = (await api.post('/v1/action_invocations', { tool: 'lookup', arguments: {} })).body;
    const action = await waitFor(async () => {
      const a = (await api.get(`/v1/action_invocations/${started.id}`)).body;
      return ['completed', 'failed'].includes(a.status) ? a : undefined;
    }, 'the action invocation to end');
    expect(action).toMatchObject({ status: 'failed', error: { code: 'private_network_blocked' } });
    expect(action.error.message).toMatch(/private or loopback/);
    expect(JSON.stringify(action)).not.toContain(name);
    expectConnectTimeLookup(name);
    expect(tools.requests).toHaveLength(0);
  });

  it('a webhook whose url rebinds to loopback: the delivery is recorded as failed, the receiver gets nothing', async () => {
    const api = await guardedWorkspace();
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const name = 'hook.rebinding.test';
    const url = `https://${name}:${portOf(receiver.url)}/hooks`;
    let hook: { id: string } | undefined;
    await saveWhilePublic(name, async () => {
      const res = await api.post('/v1/webhooks', { url, events: ['action_invocation.completed'] });
      hook = res.body;
      return res;
    });
    // An event without any outbound call of its own: a built-in tool.
    expect((await api.post('/v1/tools', { name: 'say', effect: 'read', executor: { type: 'builtin', name: 'echo' } })).status).toBe(201);
    expect((await api.post('/v1/action_invocations', { tool: 'say', arguments: {} })).status).toBe(200);
    const delivery = await waitFor(async () => {
      const d = (await api.get(`/v1/webhooks/${hook!.id}/deliveries`)).body.data[0];
      return d?.status === 'failed' ? d : undefined;
    }, 'the delivery to be refused');
    expect(delivery.attempts).toHaveLength(1);
    expect(delivery.attempts[0]).toMatchObject({ status_code: null, error: expect.stringMatching(/private or loopback/) });
    expectConnectTimeLookup(name);
    expect(receiver.received).toHaveLength(0);
  });
});

describe('redirects are never followed (the default test stack)', () => {
  it('a model provider answering 307: the run fails, the redirect target gets nothing', async () => {
    const s = await setupAgent();
    const hop = await startToolServer();
    cleanups.push(() => s.llm.close(), () => hop.close());
    // The card now points at a server that redirects to the real (fake) provider.
    hop.route('/v1/chat/completions', { status: 307, headers: { location: `${s.llm.baseUrl}/chat/completions` } });
    // Unprobed: the hop has no models route for the model-card probe.
    expect((await s.api.post('/v1/model_cards/fake', { base_url: `${hop.url}/v1`, probe: false })).status).toBe(200);
    s.llm.reply({ text: 'must not be reached' });
    const started = (await s.api.post('/v1/runs', { agent: 'assistant', input: 'hi', wait: true })).body;
    const run = await waitForStatus(s.api, started.id, ['completed', 'failed', 'canceled']);
    expect(run).toMatchObject({ status: 'failed', error: { code: 'model_error' } });
    expect(run.error.message).toMatch(/307.*redirect/);
    expect(hop.requests.length).toBeGreaterThan(0);
    expect(s.llm.requests).toHaveLength(0);
  });

  it('an http tool answering 302: the call fails with tool_redirect, the redirect target gets nothing', async () => {
    const api = await newWorkspace();
    const hop = await startToolServer();
    const target = await startToolServer();
    cleanups.push(() => hop.close(), () => target.close());
    target.route('/inside', { body: { secret: 'internal' } });
    hop.route('/hop', { status: 302, headers: { location: `${target.url}/inside` } });
    expect((await api.post('/v1/tools', { name: 'hop', effect: 'read', executor: { type: 'http', url: `${hop.url}/hop` } })).status).toBe(201);
    const started = (await api.post('/v1/action_invocations', { tool: 'hop', arguments: {} })).body;
    const action = await waitFor(async () => {
      const a = (await api.get(`/v1/action_invocations/${started.id}`)).body;
      return ['completed', 'failed'].includes(a.status) ? a : undefined;
    }, 'the action invocation to end');
    expect(action).toMatchObject({ status: 'failed', error: { code: 'tool_redirect' } });
    expect(hop.requests).toHaveLength(1);
    expect(target.requests).toHaveLength(0);
  });

  it('a webhook receiver answering 307: every attempt is a failed attempt and the delivery fails, the redirect target gets nothing', async () => {
    const { api, llm } = await setupAgent();
    const hop = await startToolServer();
    const target = await startReceiver();
    cleanups.push(() => llm.close(), () => hop.close(), () => target.close());
    hop.route('/hooks', { status: 307, headers: { location: target.url } });
    const hook = (await api.post('/v1/webhooks', { url: `${hop.url}/hooks`, events: ['run.completed'] })).body;
    llm.reply({ text: 'done' });
    await api.post('/v1/runs', { agent: 'assistant', input: 'hi', wait: true });
    // The test stack retries on a short schedule (AP_WEBHOOK_RETRY_SCHEDULE): the last attempt fails it.
    const delivery = await waitFor(async () => {
      const d = (await api.get(`/v1/webhooks/${hook.id}/deliveries`)).body.data[0];
      return d?.status === 'failed' ? d : undefined;
    }, 'the delivery to fail');
    expect(delivery.attempts.length).toBeGreaterThan(1);
    for (const a of delivery.attempts) expect(a).toMatchObject({ status_code: 307, error: 'redirect (307) not followed' });
    expect(hop.requests).toHaveLength(delivery.attempts.length);
    expect(target.received).toHaveLength(0);
  });
});
