// Canary sweep (issue 8 item 9): distinct secrets planted in model-card keys and headers (both
// providers), vault values and the tool headers that use them; every kind of run; then every API
// response, SSE byte, webhook body, log line, Temporal history (as stored and decoded) and a dump of
// the database is searched for each exact value. The global teardown repeats the dump and history
// search for the prefix over the whole suite.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeLlm, type FakeLlm } from '../fixtures/fake-llm';
import { startToolServer, type ToolServer } from '../fixtures/tool-server';
import { startReceiver } from '../fixtures/webhook-receiver';
import { canary, dumpDatabase, historyTexts } from '../support/canaries';
import { allEvents, Api, env, newWorkspace, waitFor, waitForStatus, type Res } from '../support/api';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

interface Seen {
  where: string;
  text: string;
}

const headerText = (h: Headers) => [...h.entries()].map(([k, v]) => `${k}: ${v}`).join('\n');

/** The test's Api client, recording every response's status, headers and body. */
class RecordingApi extends Api {
  constructor(
    key: string,
    readonly seen: Seen[],
  ) {
    super(key);
  }

  override async call<T = any>(method: string, p: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res<T>> {
    const res = await super.call<T>(method, p, body, headers);
    // Re-serialised JSON: a secret hidden behind \u escapes in the raw text shows up here in plain.
    const text = typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
    this.seen.push({ where: `${method} ${p} → ${res.status}`, text: `${headerText(res.headers)}\n${text}` });
    return res;
  }
}

/**
 * A provider that quotes the credentials it got back. Under /oa it rejects the call (401), under /an
 * it fails (500, retried); under /echo it answers 200 with them in the streamed text, split across
 * chunks, and in a tool call's arguments.
 */
async function maliciousProvider(): Promise<{ url: string; requests: http.IncomingHttpHeaders[] }> {
  const requests: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.headers);
    req.resume();
    const echoed = { authorization: req.headers.authorization, 'x-api-key': req.headers['x-api-key'], gateway: req.headers['x-gateway-token'] };
    if (req.url?.startsWith('/echo')) {
      const text = `Your credentials: ${JSON.stringify(echoed)}`;
      const base = { id: 'chatcmpl-echo', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'fake-model' };
      const send = (delta: unknown, finish: string | null = null) => res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < text.length; i += 7) send({ content: text.slice(i, i + 7) });
      send({ tool_calls: [{ index: 0, id: 'call_0', type: 'function', function: { name: 'lookup', arguments: JSON.stringify({ city: String(req.headers['x-gateway-token']) }) } }] });
      send({}, 'tool_calls');
      res.end('data: [DONE]\n\n');
      return;
    }
    res.writeHead(req.url?.startsWith('/oa') ? 401 : 500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { type: 'authentication_error', message: `Incorrect credentials: ${JSON.stringify(echoed)}` } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const secrets = {
  openaiKey: canary('sweep-openai-key'),
  openaiHeader: canary('sweep-openai-header'),
  anthropicKey: canary('sweep-anthropic-key'),
  anthropicHeader: canary('sweep-anthropic-header'),
  evilOpenaiKey: canary('sweep-evil-openai-key'),
  evilAnthropicKey: canary('sweep-evil-anthropic-key'),
  evilHeader: canary('sweep-evil-header'),
  echoKey: canary('sweep-echo-key'),
  echoHeader: canary('sweep-echo-header'),
  malformedBody: canary('sweep-malformed-body'),
  rotatedKey: canary('sweep-rotated-key'),
  rotatedHeader: canary('sweep-rotated-header'),
  rotatedVault: canary('sweep-rotated-vault'),
  vaultLookup: canary('sweep-vault-lookup'),
  vaultRefund: canary('sweep-vault-refund'),
};
const planted = Object.entries(secrets);

interface World {
  admin: RecordingApi;
  approver: RecordingApi;
  oa: FakeLlm;
  an: FakeLlm;
  tools: ToolServer;
  evil: { url: string; requests: http.IncomingHttpHeaders[] };
  literal: string;
}

/** One workspace: three providers' cards, the vault, http tools that use it, a client tool, four agents. */
async function plant(seen: Seen[]): Promise<World> {
  const admin = new RecordingApi((await newWorkspace('canary-sweep')).key, seen);
  const oa = await startFakeLlm('openai');
  const an = await startFakeLlm('anthropic');
  const tools = await startToolServer();
  const evil = await maliciousProvider();
  cleanups.push(() => oa.close(), () => an.close(), () => tools.close());
  const ok = (r: Res) => expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
  const body = (id: string, provider: string, base_url: string, api_key: string, header: string) => ({ id, provider, base_url, api_key, default_model: 'fake-model', headers: { 'X-Gateway-Token': header } });
  const card = (...args: Parameters<typeof body>) => admin.post('/v1/model_cards', body(...args)).then(ok);
  await card('oa-card', 'openai', oa.baseUrl, secrets.openaiKey, secrets.openaiHeader);
  await card('an-card', 'anthropic', an.baseUrl, secrets.anthropicKey, secrets.anthropicHeader);
  // The probe gets the 401 that quotes the credentials (its answer is swept too); the card is then stored unprobed.
  const evilOa = body('evil-oa-card', 'openai', `${evil.url}/oa/v1`, secrets.evilOpenaiKey, secrets.evilHeader);
  expect((await admin.post('/v1/model_cards', evilOa)).body.error?.code).toBe('model_card_probe_failed');
  ok(await admin.post('/v1/model_cards', { ...evilOa, probe: false }));
  await card('evil-an-card', 'anthropic', `${evil.url}/an`, secrets.evilAnthropicKey, secrets.evilHeader);
  await card('echo-card', 'openai', `${evil.url}/echo/v1`, secrets.echoKey, secrets.echoHeader);
  ok(await admin.post('/v1/vault', { name: 'lookup_token', value: secrets.vaultLookup }));
  ok(await admin.post('/v1/vault', { name: 'refund_token', value: secrets.vaultRefund }));

  // Tool endpoints that echo the credentials they get, on success and on error: redaction is under test.
  const echo = (r: { headers: Record<string, unknown>; body: unknown }) => ({ got: r.body, authorization: r.headers.authorization, refund_token: r.headers['x-refund-token'], dry_run: r.headers['x-dry-run'] ?? null });
  tools.route('/lookup', { body: echo });
  tools.route('/refund', { body: echo });
  tools.route('/flaky', { status: 400, body: (r: { headers: Record<string, unknown> }) => `bad token ${String(r.headers.authorization)}` });
  // A literal header is configuration, shown by GET /v1/tools (secrets belong in the vault): a marker, not a canary.
  const literal = `literal-${Math.random().toString(36).slice(2, 10)}`;
  const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
  const httpTool = (name: string, effect: string, route: string, headers: Record<string, string>, extra = {}) =>
    admin.post('/v1/tools', { name, effect, input_schema: schema, executor: { type: 'http', url: `${tools.url}${route}`, headers }, ...extra }).then(ok);
  await httpTool('lookup', 'read', '/lookup', { Authorization: 'Bearer {{vault.lookup_token}}', 'X-Static': literal });
  await httpTool('flaky', 'read', '/flaky', { Authorization: 'Bearer {{ vault.lookup_token }}' });
  await httpTool('refund', 'write', '/refund', { 'X-Refund-Token': '{{vault.refund_token}}' }, { supports_dry_run: true });
  ok(await admin.post('/v1/tools', { name: 'compute', effect: 'read', executor: { type: 'client' }, input_schema: { type: 'object', properties: { x: { type: 'number' } } } }));
  for (const [name, cardId] of [['oa', 'oa-card'], ['an', 'an-card'], ['evil-oa', 'evil-oa-card'], ['evil-an', 'evil-an-card'], ['echo', 'echo-card']] as const) {
    ok(await admin.post('/v1/agents', { name, model: { card: cardId }, instructions: 'Test agent.', tools: ['lookup', 'refund', 'compute'] }));
  }
  const approver = new RecordingApi((await admin.post('/v1/api_keys', { name: 'approver', roles: ['approver'] })).body.key, seen);
  return { admin, approver, oa, an, tools, evil, literal };
}

/** Reads an SSE response to its end (the server closes it after the run's terminal event). */
async function readStream(streams: Seen[], key: string, p: string, init: { method?: string; body?: unknown } = {}): Promise<string> {
  const res = await fetch(`${env().apiUrl}${p}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream', ...(init.body ? { 'content-type': 'application/json' } : {}) },
    body: init.body ? JSON.stringify(init.body) : undefined,
  });
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const text = await res.text();
  streams.push({ where: `SSE ${init.method ?? 'GET'} ${p}`, text: `${headerText(res.headers)}\n${text}` });
  return text;
}

/** Every kind of run, one after the other (the fake providers answer in script order). Returns the workflow ids. */
async function runEverything(w: World, streams: Seen[]): Promise<{ runs: string[]; actions: string[] }> {
  const { admin, approver, oa, an } = w;
  const runs: string[] = [];
  const wait = async (agent: string, input: string, status: string) => {
    const r = (await admin.post('/v1/runs', { agent, input, wait: true })).body;
    expect(r.status, JSON.stringify(r)).toBe(status);
    runs.push(r.id);
    return r;
  };
  oa.reply({ text: 'Plain OpenAI answer.' });
  await wait('oa', 'hello', 'completed');
  an.reply({ text: 'Plain Anthropic answer.' });
  await wait('an', 'hello', 'completed');

  // Streamed, with a read tool that sends the vault header (and gets it echoed back).
  an.reply({ tool_calls: [{ name: 'lookup', arguments: { city: 'Oslo' } }] }, { text: 'Streamed after the lookup.', chunk_delay_ms: 5 });
  const streamed = await readStream(streams, admin.key, '/v1/runs', { method: 'POST', body: { agent: 'an', input: 'stream it', stream: true } });
  expect(streamed).toContain('event: run.completed');
  runs.push(/"run_id":"(run_[^"]+)"/.exec(streamed)![1]!);

  oa.reply({ tool_calls: [{ name: 'lookup', arguments: { city: 'Bergen' } }] }, { text: 'Looked it up.' });
  await wait('oa', 'look up', 'completed');

  for (const decision of ['approve', 'deny'] as const) {
    oa.reply({ tool_calls: [{ name: 'refund', arguments: { city: decision } }] }, { text: `After ${decision}.` });
    const parked = await wait('oa', `refund ${decision}`, 'waiting_approval');
    const body = decision === 'approve' ? { comment: 'fine' } : { reason: 'not today' };
    expect((await approver.post(`/v1/approvals/${parked.pending_approvals[0].id}/${decision}`, body)).status).toBe(200);
    await waitForStatus(admin, parked.id, ['completed']);
  }

  oa.reply({ tool_calls: [{ name: 'compute', arguments: { x: 2 } }] }, { text: 'Four.' });
  const client = await wait('oa', 'compute', 'tool_required');
  expect((await admin.post(`/v1/runs/${client.id}/tools/resolve`, { tool_call_id: client.pending_tool_calls[0].id, output: { value: 4 } })).status).toBe(200);
  await waitForStatus(admin, client.id, ['completed']);

  oa.reply({ text: Array.from({ length: 400 }, (_, i) => `word${i}`).join(' '), chunk_delay_ms: 50 });
  const slow = (await admin.post('/v1/runs', { agent: 'oa', input: 'write a lot' })).body;
  runs.push(slow.id);
  await waitFor(async () => (await admin.get(`/v1/runs/${slow.id}/events`)).body.data.some((e: { type: string }) => e.type === 'step.started'), 'the slow run to start');
  expect((await admin.post(`/v1/runs/${slow.id}/cancel`, { reason: 'enough' })).status).toBe(202);
  await waitForStatus(admin, slow.id, ['canceled']);

  // The malicious providers: a 401 (not retried) and a 500 (retried, then failed), both quoting the key.
  for (const agent of ['evil-oa', 'evil-an']) {
    const r = (await admin.post('/v1/runs', { agent, input: 'fail', wait: true, wait_timeout_seconds: 60 })).body;
    expect(r).toMatchObject({ status: 'failed', error: { code: 'model_error' } });
    expect(r.error.message).toContain('[redacted]');
    runs.push(r.id);
  }

  // A 200 that quotes the key and header in its streamed text and in a tool call's arguments (each step answers so: max_steps ends it).
  const echoed = await readStream(streams, admin.key, '/v1/runs', { method: 'POST', body: { agent: 'echo', input: 'echo', stream: true, constraints: { max_steps: 2 } } });
  expect(echoed).toContain('event: message.delta');
  expect(echoed).toContain('[redacted]');
  runs.push(/"run_id":"(run_[^"]+)"/.exec(echoed)![1]!);

  // A malformed body carrying a key is refused without quoting it.
  const malformed = await admin.call('POST', '/v1/vault', `{"name": "broken", "value": ${secrets.malformedBody}}`);
  expect(malformed.body.error.code).toBe('invalid_json');

  const actions: string[] = [];
  for (const [tool, dry_run, status] of [['lookup', false, 'completed'], ['flaky', false, 'failed'], ['refund', true, 'completed']] as const) {
    const a = (await admin.post('/v1/action_invocations', { tool, arguments: { city: 'Tromsø' }, dry_run })).body;
    expect(a.status, JSON.stringify(a)).toBe(status);
    actions.push(a.id);
  }

  oa.reply({ text: 'Chat answer.' });
  const chat = await admin.post('/v1/chat/completions', { model: 'oa', messages: [{ role: 'user', content: 'hi' }] });
  expect(chat.status).toBe(200);
  runs.push(chat.body.agent_metadata.execution_id);
  oa.reply({ tool_calls: [{ name: 'lookup', arguments: { city: 'Chat' } }] }, { text: 'Streamed chat answer.' });
  const chatStream = await readStream(streams, admin.key, '/v1/chat/completions', { method: 'POST', body: { model: 'agent:oa', messages: [{ role: 'user', content: 'hi' }], stream: true } });
  expect(chatStream).toContain('data: [DONE]');
  runs.push(/"execution_id":"(run_[^"]+)"/.exec(chatStream)![1]!);
  return { runs, actions };
}

/** GET every read route over what was made; the run event streams again, replayed to their end. */
async function readEverything(w: World, runs: string[], actions: string[], webhookId: string, streams: Seen[]): Promise<void> {
  const { admin } = w;
  for (const p of ['/v1/workspaces/current', '/v1/api_keys', '/v1/model_cards', '/v1/tools', '/v1/vault', '/v1/agents', '/v1/sessions?limit=100', '/v1/runs?limit=100', '/v1/approvals?limit=100', '/v1/webhooks', `/v1/webhooks/${webhookId}`, `/v1/webhooks/${webhookId}/deliveries?limit=100`, '/v1/models', '/v1/audit_log/verify']) {
    expect((await admin.get(p)).status, p).toBe(200);
  }
  for (const id of ['oa-card', 'an-card', 'evil-oa-card', 'evil-an-card', 'echo-card']) await admin.get(`/v1/model_cards/${id}`);
  for (const name of ['lookup', 'flaky', 'refund', 'compute']) await admin.get(`/v1/tools/${name}`);
  for (const name of ['lookup_token', 'refund_token']) await admin.get(`/v1/vault/${name}`);
  for (const name of ['oa', 'an', 'evil-oa', 'evil-an', 'echo']) await admin.get(`/v1/agents/${name}/versions`);
  for (const a of (await admin.get('/v1/approvals?limit=100')).body.data) await admin.get(`/v1/approvals/${a.id}`);
  for (const id of actions) await admin.get(`/v1/action_invocations/${id}`);
  for (let after = ''; ; ) {
    const page = (await admin.get(`/v1/audit_log?limit=100${after ? `&after=${after}` : ''}`)).body;
    if (!page.has_more) break;
    after = page.next_cursor;
  }
  for (const id of runs) {
    const run = (await admin.get(`/v1/runs/${id}`)).body;
    await admin.get(`/v1/sessions/${run.session_id}`);
    await admin.get(`/v1/sessions/${run.session_id}/messages`);
    await allEvents(admin, id);
    expect((await admin.get(`/v1/runs/${id}/history`)).status).toBe(200);
    expect(await readStream(streams, admin.key, `/v1/runs/${id}/events`)).toMatch(/event: run\.(completed|failed|canceled)/);
  }
  // Every tenant's counts: the operator's only (issue 17 item 10).
  expect((await admin.get('/metrics')).status).toBe(403);
  expect((await new RecordingApi(env().adminKey, admin.seen).get('/metrics')).status).toBe(200);
}

const where = (haystacks: Seen[], needle: string) => haystacks.filter((h) => h.text.includes(needle)).map((h) => h.where);
/** The Temporal server's SQLite file and its write-ahead log, as bytes. */
const temporalFiles = () => [env().temporalDb, `${env().temporalDb}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f));

describe('canary sweep', () => {
  it('no planted secret appears in any response, stream, webhook, log, history or the database', { timeout: 240_000 }, async () => {
    const responses: Seen[] = [];
    const streams: Seen[] = [];
    const w = await plant(responses);
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const hook = (await w.admin.post('/v1/webhooks', { url: receiver.url, events: ['*'] })).body;

    const { runs, actions } = await runEverything(w, streams);

    // Every delivery made, so that the webhook bodies are all in.
    const deliveries = await waitFor(async () => {
      const d = (await w.admin.get(`/v1/webhooks/${hook.id}/deliveries?limit=100`)).body.data as { id: string; status: string }[];
      return d.length > 0 && d.every((x) => x.status === 'succeeded') && receiver.received.length >= d.length ? d : undefined;
    }, 'every webhook delivery', 60_000);
    const webhooks: Seen[] = receiver.received.map((r, i) => ({ where: `webhook #${i} ${String(r.headers['webhook-id'])}`, text: `${JSON.stringify(r.headers)}\n${r.body}` }));
    const types = new Set(receiver.received.map((r) => (JSON.parse(r.body) as { type: string }).type));
    expect([...types].sort()).toEqual(['action_invocation.completed', 'approval.decided', 'run.canceled', 'run.completed', 'run.failed', 'run.tool_required', 'run.waiting_approval']);

    // Rotations answer like creations: without the new values, also when the probe refuses them.
    const rotation = { api_key: secrets.rotatedKey, headers: { 'X-Gateway-Token': secrets.rotatedHeader } };
    expect((await w.admin.post('/v1/model_cards/evil-oa-card', rotation)).body.error?.code).toBe('model_card_probe_failed');
    expect((await w.admin.post('/v1/model_cards/evil-oa-card', { ...rotation, probe: false })).status).toBe(200);
    expect((await w.admin.patch('/v1/vault/refund_token', { value: secrets.rotatedVault })).status).toBe(200);
    await readEverything(w, runs, actions, hook.id, streams);

    // The secrets were used: each provider got its key and header, the tool server its vault values.
    expect(w.oa.requests[0]!.headers).toMatchObject({ authorization: `Bearer ${secrets.openaiKey}`, 'x-gateway-token': secrets.openaiHeader });
    expect(w.an.requests[0]!.headers).toMatchObject({ 'x-api-key': secrets.anthropicKey, 'x-gateway-token': secrets.anthropicHeader });
    expect(w.evil.requests.map((h) => h.authorization ?? h['x-api-key'])).toEqual(expect.arrayContaining([`Bearer ${secrets.evilOpenaiKey}`, secrets.evilAnthropicKey, `Bearer ${secrets.echoKey}`]));
    expect(w.tools.requests.some((r) => r.path === '/lookup' && r.headers.authorization === `Bearer ${secrets.vaultLookup}` && r.headers['x-static'] === w.literal)).toBe(true);
    expect(w.tools.requests.some((r) => r.path === '/flaky' && r.headers.authorization === `Bearer ${secrets.vaultLookup}`)).toBe(true);
    expect(w.tools.requests.filter((r) => r.path === '/refund' && r.headers['x-refund-token'] === secrets.vaultRefund).length).toBeGreaterThanOrEqual(3);
    // ... and what came back echoing them reached the API redacted (so the search below looks at real data).
    expect(where(responses, 'Bearer [redacted]').length).toBeGreaterThan(0);
    expect(where(webhooks, '[redacted]').length).toBeGreaterThan(0);

    const histories = await historyTexts(env(), [...runs, ...actions, ...deliveries.map((d) => d.id)]);
    expect(histories.some((h) => h.decoded.includes('{{vault.lookup_token}}') && !h.raw.includes('{{vault.lookup_token}}'))).toBe(true);
    const dump = await dumpDatabase(env().databaseUrl);
    expect(dump.text).toContain(hook.id);
    // Whatever the logs hold, written by now: the worker logged the last run.
    await waitFor(async () => fs.readFileSync(path.join(env().logDir, 'worker.log'), 'utf8').includes(runs.at(-1)!), 'the worker log of the last run', 10_000).catch(() => undefined);
    const logs: Seen[] = fs.readdirSync(env().logDir).map((f) => ({ where: `log ${f}`, text: fs.readFileSync(path.join(env().logDir, f), 'utf8') }));

    const sqlite = temporalFiles();
    const hits: string[] = [];
    for (const [label, value] of planted) {
      for (const place of [...where(responses, value), ...where(streams, value), ...where(webhooks, value), ...where(logs, value)]) hits.push(`${label} in ${place}`);
      for (const h of histories) {
        if (h.raw.includes(value)) hits.push(`${label} in the raw history of ${h.workflowId}`);
        if (h.decoded.includes(value)) hits.push(`${label} in the decoded history of ${h.workflowId}`);
      }
      if (dump.text.includes(value)) hits.push(`${label} in the database dump: ${dump.text.split('\n').find((l) => l.includes(value))!.slice(0, 300)}`);
      if (sqlite.some((b) => b.includes(value))) hits.push(`${label} in the Temporal server's SQLite file`);
    }
    // Generated secrets are shown once, in the response that made them, and nowhere else.
    for (const [label, value, shown] of [['webhook secret', hook.secret as string, 1], ['approver key', w.approver.key, 1], ['admin key', w.admin.key, 0]] as const) {
      expect(where(responses, value), label).toHaveLength(shown);
      for (const place of [...where(streams, value), ...where(webhooks, value), ...where(logs, value)]) hits.push(`${label} in ${place}`);
      if (histories.some((h) => h.raw.includes(value) || h.decoded.includes(value)) || dump.text.includes(value)) hits.push(`${label} in a history or the database dump`);
    }
    const bytes = (s: Seen[]) => s.reduce((n, x) => n + Buffer.byteLength(x.text), 0);
    process.stdout.write(
      `[canary sweep] ${planted.length} canaries; ${responses.length} responses (${bytes(responses)} bytes), ${streams.length} SSE streams (${bytes(streams)} bytes), ` +
        `${webhooks.length} webhook bodies, ${logs.length} log files (${bytes(logs)} bytes), ${histories.length} histories raw + decoded, Temporal SQLite ${sqlite.reduce((n, b) => n + b.length, 0)} bytes, ` +
        `${dump.tool} ${Buffer.byteLength(dump.text)} bytes: ${hits.length} hits\n`,
    );
    expect(hits).toEqual([]);
  });
});
