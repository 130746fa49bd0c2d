// Fuzzing of every request schema (issue 8, item 10), generated from /openapi.json: each JSON body gets
// shaped values with hostile contents, one field of the wrong type, and arbitrary JSON; each query
// parameter and path id gets hostile values. Every answer is < 500 in the documented error shape, the API
// keeps answering, and a rejected request leaves the workspace's visible state (every GET list) unchanged.
import http from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, isErrorCode } from '../../src/domain/error-codes';
import { statusOfCode } from '../../src/api/error-status';
import { startToolServer, type ToolServer } from '../fixtures/tool-server';
import { adminApi, Api, env, newWorkspace, setupAgent, waitFor, waitForStatus, type AgentSetup, type Res } from '../support/api';
import { canary } from '../support/canaries';
import { hostileQueryValue, oneFieldWrong, shaped, type JsonSchema } from '../support/schema-arbitraries';

const SEED = Number(process.env.FUZZ_SEED ?? 20_250_810);
const RUNS = Number(process.env.FUZZ_RUNS ?? 12);

interface Op {
  method: string;
  path: string;
  operator: boolean;
  body?: JsonSchema;
  query: { name: string; schema: JsonSchema }[];
}

/** Routes that start work in the background: after a success, the state is read until it stops changing. */
const ASYNC = /^post \/v1\/(runs|sessions\/\{id\}\/runs|chat\/completions|action_invocations|approvals\/.*|runs\/\{id\}\/.*|action_invocations\/\{id\}\/cancel|evals\/\{id\}\/cancel)$/;
/** Fields the workflows change on their own (run progress, approval expiry) and the key's last use. */
const VOLATILE = new Set(['last_used_at', 'status', 'started_at', 'completed_at', 'output', 'output_text', 'usage', 'error', 'pending_approvals', 'pending_tool_calls', 'decided_at', 'decided_by', 'comment', 'result', 'updated_at']);
/** A valid body for routes fuzzed through their path ids only (as in bola.test.ts). */
const BODIES: Record<string, unknown> = {
  'patch /v1/agents/{id}': { instructions: 'changed' },
  'patch /v1/tools/{name}': { description: 'changed' },
  'post /v1/model_cards/{id}': { default_model: 'changed' },
  'post /v1/vault/{name}': { value: 'changed' },
  'patch /v1/vault/{name}': { value: 'changed' },
  'patch /v1/workspaces/{id}': { max_active_runs: 100 },
  'post /v1/runs/{id}/tools/resolve': { tool_call_id: 'tc_missing', output: 'x' },
  'post /v1/sessions/{id}/runs': { input: 'hi' },
  'post /v1/approvals/{id}/deny': { reason: 'no' },
};

let a: AgentSetup;
let tools: ToolServer;
let operator: Api;
let victim: Api;
let ops: Op[] = [];
const ids: Record<string, string> = {};
let hints: Record<string, string[]> = {};
const stats = new Map<string, { sent: number; rejected: number; ok: number; codes: Record<string, number> }>();

const keyOf = (op: Op) => `${op.method} ${op.path}`;
const callerOf = (op: Op) => (op.operator ? operator : a.api);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One request with a raw body; an SSE answer is closed as soon as its status is known. */
async function send(api: Api, method: string, path: string, body?: string | Buffer, contentType = 'application/json'): Promise<Res> {
  const res = await fetch(`${env().apiUrl}${path}`, {
    method: method.toUpperCase(),
    headers: { authorization: `Bearer ${api.key}`, ...(body !== undefined ? { 'content-type': contentType } : {}) },
    body,
    signal: AbortSignal.timeout(60_000),
  });
  if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    await res.body?.cancel();
    return { status: res.status, body: undefined, headers: res.headers };
  }
  ownRequests.add(res.headers.get('x-request-id') ?? '');
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON: the shape check below says so */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** Like send, but the path goes out byte for byte: fetch would resolve `..` and `%2e%2e` before sending. */
function sendRaw(api: Api, method: string, path: string, body?: string): Promise<Res> {
  const url = new URL(env().apiUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method: method.toUpperCase(), path, headers: { authorization: `Bearer ${api.key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        ownRequests.add(String(res.headers['x-request-id'] ?? ''));
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode!, body: parsed, headers: new Headers(res.headers as Record<string, string>) });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Every answer: no 5xx; an error has the documented body (API.md 1.2) with this request's id, and a
 * catalogue code whose type and status it answers with.
 */
function checkShape(label: string, res: Res): void {
  expect(res.status, `${label}: ${JSON.stringify(res.body)?.slice(0, 300)}`).toBeLessThan(500);
  if (res.status < 400) return;
  const e = res.body?.error;
  const code = String(e?.code);
  const catalogued = isErrorCode(code) ? { type: ERROR_CODES[code].type, status: statusOfCode(code) } : `${code} (not in the catalogue)`;
  expect({ label, code: catalogued, message: typeof e?.message, request_id: e?.request_id }).toEqual({
    label,
    code: { type: e?.type, status: res.status },
    message: 'string',
    request_id: res.headers.get('x-request-id'),
  });
}

/** The workspace as its admin sees it: every GET collection of /openapi.json, all pages. */
async function snapshot(api: Api): Promise<Record<string, unknown>> {
  // GET /v1/usage is derived from the runs (already here) and moves with their progress, which is volatile.
  const lists = ops.filter((o) => o.method === 'get' && !o.path.includes('{') && !o.operator && o.path !== '/v1/usage');
  const read = await Promise.all(
    lists.map(async (o) => {
      const items: unknown[] = [];
      let after: string | null = null;
      for (let page = 0; page < 50; page++) {
        const q: string = o.query.some((p) => p.name === 'limit') ? `?limit=100${after ? `&after=${encodeURIComponent(after)}` : ''}` : '';
        const res: Res = await api.get(`${o.path}${q}`);
        expect(res.status, `${o.path} ${JSON.stringify(res.body)}`).toBe(200);
        if (res.body?.object !== 'list') {
          items.push(res.body);
          break;
        }
        items.push(...res.body.data);
        after = res.body.has_more ? res.body.next_cursor : null;
        if (!after) break;
      }
      return [o.path, items] as const;
    }),
  );
  const state: Record<string, unknown> = Object.fromEntries(read);
  // Collections under an object that the body fuzz writes to: the seeded memory store's entries.
  if (api === a.api && ids.memory_stores) {
    const entries = await api.get(`/v1/memory_stores/${ids.memory_stores}/entries?limit=100`);
    expect(entries.status).toBe(200);
    state['/v1/memory_stores/{id}/entries'] = entries.body.data;
  }
  // The default workspace is the operator's, and other test files create workspaces through it at the
  // same time: of its audit log, only what this file's requests wrote is ours to compare. Its keys are
  // created by the CLI test (`ap keys create`), and no operator-only route creates keys.
  if (api === operator) {
    delete state['/v1/api_keys'];
    state['/v1/audit_log'] = (state['/v1/audit_log'] as { request_id?: string }[]).filter((r) => ownRequests.has(r.request_id ?? ''));
    state['/v1/audit_log/verify'] = (state['/v1/audit_log/verify'] as { ok: boolean }[]).map((v) => ({ ok: v.ok }));
  }
  return state;
}

/**
 * A model card without base_url is probed at its provider's public URL: the fuzzed ones always name one
 * (the fake provider's, or a hostile value), so that no test request leaves the machine.
 */
function offline(key: string, body: JsonSchema | undefined): JsonSchema | undefined {
  return key === 'post /v1/model_cards' && body ? { ...body, required: [...(body.required ?? []), 'base_url'] } : body;
}

/** x-request-id of every request this file sent. */
const ownRequests = new Set<string>();

const stable = (v: unknown): string => JSON.stringify(v, (k, x: unknown) => (VOLATILE.has(k) ? undefined : x));

/** After a success that started background work: read until two readings agree and nothing is queued or running. */
async function settle(api: Api): Promise<string> {
  let prev = await snapshot(api);
  for (let i = 0; i < 100; i++) {
    await sleep(150);
    const cur = await snapshot(api);
    const busy = JSON.stringify(cur['/v1/runs']).match(/"status":"(queued|running)"/);
    if (!busy && stable(cur) === stable(prev)) return stable(cur);
    prev = cur;
  }
  throw new Error('the workspace state did not settle within 15 s');
}

/** Sends each body of the arbitrary to the operation and checks the answer and the stored state. */
async function fuzzBodies(op: Op, mode: string, arb: fc.Arbitrary<unknown>, numRuns: number): Promise<void> {
  const api = callerOf(op);
  const path = concrete(op.path);
  let before = stable(await snapshot(api));
  const s = stats.get(keyOf(op)) ?? { sent: 0, rejected: 0, ok: 0, codes: {} };
  stats.set(keyOf(op), s);
  await fc.assert(
    fc.asyncProperty(arb, async (value) => {
      const res = await send(api, op.method, path, JSON.stringify(value));
      s.sent++;
      const label = `${keyOf(op)} [${mode}] ${JSON.stringify(value)?.slice(0, 200)}`;
      checkShape(label, res);
      if (res.status >= 400) {
        s.rejected++;
        const code = `${res.status} ${res.body?.error?.code} ${res.body?.error?.param ?? ''}`.trim();
        s.codes[code] = (s.codes[code] ?? 0) + 1;
        expect(stable(await snapshot(api)), `${label} → ${res.status} changed the stored state`).toBe(before);
      } else {
        s.ok++;
        before = ASYNC.test(keyOf(op)) ? await settle(api) : stable(await snapshot(api));
      }
    }),
    { seed: SEED, numRuns, endOnFailure: true },
  );
}

/** The path with the seeded object's id in each parameter, or `raw` (already encoded) in the one named. */
function concrete(path: string, raw?: { param: string; value: string }): string {
  return path.replace(/\{(\w+)\}/g, (m, name: string) => {
    if (raw?.param === m) return raw.value;
    if (name === 'v') return '1';
    const own = Object.entries(TARGETS).find(([suffix]) => path.endsWith(suffix))?.[1];
    return encodeURIComponent(ids[own ?? path.split('/')[2]!]!);
  });
}

/** Routes that use up their object get one of their own. */
const TARGETS: Record<string, string> = { '/approvals/{id}/deny': 'approvals/deny', '/runs/{id}/cancel': 'runs/cancel', '/action_invocations/{id}/cancel': 'action_invocations/cancel' };

/** Percent-encodes every byte, so that lone surrogates and controls reach the server as sent. */
const pct = (s: string): string => [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

beforeAll(async () => {
  tools = await startToolServer();
  tools.route('/w', { body: { ok: true } });
  a = await setupAgent();
  const api = a.api;
  operator = adminApi();
  victim = await newWorkspace('fuzz-victim');
  // Thousands of requests in a minute: the per-key rate limit is raised for these two workspaces.
  const wsId = (await api.get('/v1/workspaces/current')).body.id as string;
  const defaultId = (await operator.get('/v1/workspaces/current')).body.id as string;
  ids['operator/default'] = defaultId;
  for (const w of [wsId, defaultId]) expect((await operator.patch(`/v1/workspaces/${w}`, { rate_limit_per_minute: 1_000_000 })).status).toBe(200);

  const schema = { type: 'object', properties: { n: { type: 'integer' } } };
  await api.post('/v1/tools', { name: 'fz_write', effect: 'write', input_schema: schema, executor: { type: 'http', url: `${tools.url}/w` } });
  await api.post('/v1/tools', { name: 'fz_client', effect: 'read', input_schema: schema, executor: { type: 'client' } });
  await api.post('/v1/tools', { name: 'fz_tool', effect: 'read', input_schema: schema, executor: { type: 'http', url: `${tools.url}/w` } });
  expect((await api.patch('/v1/agents/assistant', { tools: ['fz_write', 'fz_client'] })).status).toBe(200);
  // Targets of the fuzzed updates, apart from what the runs use.
  await api.post('/v1/model_cards', { id: 'fz_card', provider: 'openai', base_url: a.llm.baseUrl, api_key: canary('fuzz'), default_model: 'm' });
  const agent = (await api.post('/v1/agents', { name: 'fz_agent', model: { card: 'fz_card' } })).body;
  await api.post('/v1/vault', { name: 'FZ_SECRET', value: canary('fuzz-vault') });
  const hook = (await api.post('/v1/webhooks', { url: `${tools.url}/hook`, events: ['run.failed'] })).body;
  // Parked runs, started by a developer key so that the admin may decide their approvals.
  const dev = new Api((await api.post('/v1/api_keys', { name: 'fz-dev', roles: ['developer'] })).body.key);
  const park = async (call: string, status: string) => {
    a.llm.reply({ tool_calls: [{ name: call, arguments: { n: 1 } }] });
    const run = (await dev.post('/v1/runs', { agent: 'assistant', input: 'act' })).body;
    return waitForStatus(api, run.id, [status]);
  };
  const approveRun = await park('fz_write', 'waiting_approval');
  const denyRun = await park('fz_write', 'waiting_approval');
  const resolveRun = await park('fz_client', 'tool_required');
  const cancelRun = await park('fz_client', 'tool_required');
  const action = (await api.post('/v1/action_invocations', { tool: 'fz_write', arguments: { n: 2 }, wait: false })).body;
  // A memory store with an entry, an eval set, an environment, and a live eval whose case run waits for an
  // approval (so that its cancel can be accepted): their routes get bodies past the 404.
  const store = (await api.post('/v1/memory_stores', { name: 'fz_mem' })).body;
  expect((await api.post(`/v1/memory_stores/${store.id}/entries`, { text: 'the fuzz entry' })).status).toBe(201);
  const set = (await api.post('/v1/eval_sets', { name: 'fz_set', cases: [{ id: 'c1', input: 'act', expect: {} }] })).body;
  const environment = (await api.post('/v1/environments', { name: 'fz_env', variables: { REGION: 'eu' } })).body;
  a.llm.reply({ tool_calls: [{ name: 'fz_write', arguments: { n: 3 } }] });
  const evaluation = (await api.post('/v1/evals', { eval_set: set.id, agent: 'assistant', tool_mode: 'live', concurrency: 1 })).body;
  const caseRun = await waitFor(async () => (await api.get(`/v1/evals/${evaluation.id}`)).body.results?.[0]?.run_id as string | undefined, 'the eval case run');
  await waitForStatus(api, caseRun, ['waiting_approval']);
  const session = (await api.post('/v1/sessions', { agent: 'assistant' })).body;
  Object.assign(ids, {
    agents: agent.id,
    tools: 'fz_tool',
    model_cards: 'fz_card',
    vault: 'FZ_SECRET',
    api_keys: (await api.get('/v1/api_keys')).body.data.find((k: { name: string }) => k.name === 'fz-dev').id,
    workspaces: (await victim.get('/v1/workspaces/current')).body.id,
    sessions: session.id,
    runs: resolveRun.id,
    'runs/cancel': cancelRun.id,
    approvals: approveRun.pending_approvals[0].id,
    'approvals/deny': denyRun.pending_approvals[0].id,
    action_invocations: action.id,
    'action_invocations/cancel': action.id,
    webhooks: hook.id,
    memory_stores: store.id,
    eval_sets: set.id,
    environments: environment.id,
    evals: evaluation.id,
  });
  for (const [k, v] of Object.entries(ids)) expect(v, k).toBeTruthy();
  hints = {
    agent: ['assistant'],
    tool: ['fz_tool', 'fz_write', 'echo'],
    card: ['fake'],
    model: ['assistant', 'agent:assistant'],
    tool_call_id: [resolveRun.pending_tool_calls[0].id],
    url: [`${tools.url}/w`],
    base_url: [a.llm.baseUrl],
  };

  const doc = (await (await fetch(`${env().apiUrl}/openapi.json`)).json()) as { paths: Record<string, Record<string, any>> };
  ops = Object.entries(doc.paths).flatMap(([path, byMethod]) =>
    Object.entries(byMethod)
      .filter(([, op]) => op['x-roles'])
      .map(([method, op]) => ({
        method,
        path,
        operator: op['x-operator-only'] === true,
        body: offline(`${method} ${path}`, op.requestBody?.content?.['application/json']?.schema as JsonSchema | undefined),
        query: (op.parameters as { name: string; in: string; schema: JsonSchema }[]).filter((p) => p.in === 'query'),
      })),
  );
}, 180_000);

afterAll(async () => {
  if (ids['operator/default']) await operator.patch(`/v1/workspaces/${ids['operator/default']}`, { rate_limit_per_minute: null });
  await a?.llm.close();
  await tools?.close();
});

describe('fuzzing every request schema from /openapi.json', () => {
  it('finds the routes to fuzz', () => {
    expect(ops.filter((o) => o.body).length).toBeGreaterThan(20);
    expect(ops.filter((o) => o.query.length).length).toBeGreaterThan(10);
    expect(ops.filter((o) => o.path.includes('{')).length).toBeGreaterThan(25);
  });

  it('every JSON body: shaped with hostile contents, one field of the wrong type, arbitrary JSON', async () => {
    for (const op of ops.filter((o) => o.body)) {
      await fuzzBodies(op, 'shaped', shaped(op.body!, hints), 2 * RUNS);
      await fuzzBodies(op, 'wrong-type', oneFieldWrong(op.body!, hints), RUNS);
      await fuzzBodies(op, 'json', fc.jsonValue(), RUNS);
      expect((await fetch(`${env().apiUrl}/healthz`)).status, `the API answers after ${keyOf(op)}`).toBe(200);
    }
    const rows = [...stats.entries()];
    const lines = rows.map(([k, s]) => `${k}: ${s.sent} sent, ${s.rejected} rejected, ${s.ok} accepted (${Object.entries(s.codes).sort((x, y) => y[1] - x[1]).slice(0, 4).map(([c, n]) => `${c} ×${n}`).join(', ')})`);
    const total = rows.reduce((t, [, x]) => ({ sent: t.sent + x.sent, rejected: t.rejected + x.rejected, ok: t.ok + x.ok }), { sent: 0, rejected: 0, ok: 0 });
    process.stdout.write(`[fuzz] seed ${SEED}, ${rows.length} body routes\n${lines.join('\n')}\n`);
    process.stdout.write(`[fuzz] bodies: ${total.sent} requests to ${rows.length} routes, ${total.rejected} rejected (state unchanged), ${total.ok} accepted, 0 5xx\n`);
    // It can fail: each route got its requests, and each rejected some.
    expect(rows.length).toBe(ops.filter((o) => o.body).length);
    expect(rows.filter(([, s]) => s.sent < 4 * RUNS || s.rejected < RUNS).map(([k]) => k)).toEqual([]);
    // And the fuzzer got past validation: most routes accepted some requests.
    expect(rows.filter(([, s]) => s.ok > 0).length).toBeGreaterThan(rows.length / 2);
  }, 600_000);

  it('every query parameter: hostile values, repeated parameters', async () => {
    let sent = 0;
    for (const op of ops.filter((o) => o.query.length && o.method === 'get')) {
      const api = callerOf(op);
      const before = stable(await snapshot(api));
      const names = op.query.map((q) => q.name);
      const arb = fc.tuple(fc.dictionary(fc.constantFrom(...names), hostileQueryValue, { minKeys: 1, maxKeys: names.length }), fc.option(fc.constantFrom(...names)));
      await fc.assert(
        fc.asyncProperty(arb, async ([params, repeated]) => {
          const q = new URLSearchParams(params);
          if (repeated) q.append(repeated, '1');
          const res = await send(api, 'get', `${concrete(op.path)}?${q}`);
          sent++;
          checkShape(`${keyOf(op)}?${q}`, res);
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
      expect(stable(await snapshot(api)), `GET ${op.path} changed the stored state`).toBe(before);
    }
    expect(sent).toBeGreaterThan(10 * RUNS);
  }, 300_000);

  it('limit and cursor values out of their documented range are 400 validation_failed on every list', async () => {
    const lists = ops.filter((o) => o.method === 'get' && o.query.some((q) => q.name === 'limit'));
    expect(lists.length).toBeGreaterThan(10);
    const bad: string[] = [];
    for (const op of lists) {
      const path = concrete(op.path);
      // One past the documented maximum (100 on most lists; a session's log pages up to 1,000).
      const max = Number(op.query.find((q) => q.name === 'limit')!.schema.maximum ?? 100);
      const cases: [string, string][] = ['99999999999999999999', '-1', '0', String(max + 1), '1e309', 'abc', '1.5', ''].map((v) => [`limit=${encodeURIComponent(v)}`, 'limit']);
      cases.push(['limit=1&limit=2', 'limit']);
      if (op.query.some((q) => q.name === 'after')) {
        for (const c of ['!!not-a-cursor!!', '\u0000', '../../etc/passwd', '💥', "' OR 1=1 --", 'x'.repeat(300)]) cases.push([`after=${encodeURIComponent(c)}`, 'after']);
        cases.push(['after=a&after=b', 'after']);
      }
      for (const [q, param] of cases) {
        const res = await send(callerOf(op), 'get', `${path}?${q}`);
        checkShape(`${op.path}?${q}`, res);
        if (res.status !== 400 || res.body?.error?.code !== 'validation_failed' || res.body?.error?.param !== param) bad.push(`${op.path}?${q.slice(0, 40)}: ${res.status} ${JSON.stringify(res.body).slice(0, 120)}`);
      }
    }
    expect(bad).toEqual([]);
  }, 120_000);

  it('path ids that are huge, NUL, ../, unicode or badly encoded are 404 or 400 on every route', async () => {
    const hostile = ['x'.repeat(5000), '%00', 'a%00b', '..%2F..%2Fetc%2Fpasswd', '../../etc/passwd', '..', '%2e%2e', '.', pct('агент💥'), '%ff', '%E0%A4%A', '%', pct("' OR 1=1 --"), pct('{{vault.FZ_SECRET}}'), '__proto__', 'constructor', `run_${'0'.repeat(32)}`, '%20', pct('\ud800')];
    const wrong: string[] = [];
    let sent = 0;
    const idOps = ops.filter((o) => o.path.includes('{'));
    for (const op of idOps) {
      const api = callerOf(op);
      const before = stable(await snapshot(api));
      const body = op.method === 'get' || op.method === 'delete' ? undefined : JSON.stringify(BODIES[keyOf(op)] ?? {});
      const params = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[0]);
      for (const param of params) {
        for (const id of hostile) {
          const path = concrete(op.path, { param, value: id });
          const res = await sendRaw(api, op.method, path, body);
          sent++;
          checkShape(`${keyOf(op)} ${path.slice(0, 80)}`, res);
          if (res.status !== 404 && res.status !== 400) wrong.push(`${keyOf(op)} ${path.slice(0, 60)}: ${res.status}`);
        }
      }
      expect(stable(await snapshot(api)), `${keyOf(op)} with hostile ids changed the stored state`).toBe(before);
    }
    expect(wrong).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(idOps.length * hostile.length);
  }, 300_000);

  it('oversize, deeply nested, invalid UTF-8 and non-JSON bodies are 4xx in the documented shape on every route', async () => {
    const deepArray = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const deepObject = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    const cases: { name: string; body: (op: Op) => string | Buffer; type?: string; status: number[]; code?: string }[] = [
      { name: 'over 1 MiB', body: () => JSON.stringify({ input: 'x'.repeat(1_100_000) }), status: [413], code: 'payload_too_large' },
      { name: 'array nested 10,000 deep', body: () => deepArray, status: [400] },
      { name: 'object nested 10,000 deep', body: () => deepObject, status: [400] },
      { name: 'deep value in a field', body: deepInside, status: [400] },
      { name: 'invalid UTF-8', body: () => Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), status: [400] },
      { name: 'bare invalid UTF-8', body: () => Buffer.from([0xff, 0xfe]), status: [400] },
      { name: 'text/plain', body: () => '{"reason":"x"}', type: 'text/plain', status: [415] },
      { name: 'form encoded', body: () => 'reason=x', type: 'application/x-www-form-urlencoded', status: [415] },
      { name: 'JSON null', body: () => 'null', status: [400] },
    ];
    const wrong: string[] = [];
    for (const op of ops.filter((o) => o.body)) {
      const api = callerOf(op);
      const before = stable(await snapshot(api));
      for (const c of cases) {
        const res = await send(api, op.method, concrete(op.path), c.body(op), c.type);
        checkShape(`${keyOf(op)} ${c.name}`, res);
        if (!c.status.includes(res.status) || (c.code && res.body?.error?.code !== c.code)) wrong.push(`${keyOf(op)} ${c.name}: ${res.status} ${JSON.stringify(res.body).slice(0, 120)}`);
      }
      expect(stable(await snapshot(api)), `${keyOf(op)} changed the stored state`).toBe(before);
      expect((await fetch(`${env().apiUrl}/healthz`)).status).toBe(200);
    }
    expect(wrong).toEqual([]);
  }, 300_000);
});

/** A body that is valid but for one value nested 10,000 deep where the schema accepts anything (as text:
 * JSON.stringify itself overflows the stack at that depth). */
function deepInside(op: Op): string {
  const deep = `${'[{"a":'.repeat(5_000)}1${'}]'.repeat(5_000)}`;
  const props = op.body?.properties ?? op.body?.anyOf?.[0]?.properties ?? {};
  const field = ['metadata', 'arguments', 'output', 'input_schema'].find((f) => f in props) ?? 'deep';
  const base = JSON.stringify(BODIES[keyOf(op)] ?? {}).slice(1, -1);
  const value = field === 'output' ? deep : `{"type":"object","a":${deep}}`;
  return `{${base ? `${base},` : ''}"${field}":${value}}`;
}
