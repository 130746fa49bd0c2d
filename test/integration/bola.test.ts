// Object-level authorization, generated from /openapi.json (issue 8, item 7): every route that takes an
// id, called with another workspace's key of every role, answers 404 (403 where the role may not call the
// route at all, which says nothing about the object); lists never show a foreign object; and every route
// refuses, with 403 permission_denied, each role its `x-roles` does not name.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startToolServer, type ToolServer } from '../fixtures/tool-server';
import { Api, env, newWorkspace, setupAgent, waitForStatus, type AgentSetup } from '../support/api';
import { canary } from '../support/canaries';

const ROLES = ['admin', 'developer', 'approver', 'auditor'] as const;
type Role = (typeof ROLES)[number];

interface Operation {
  method: string;
  path: string;
  roles: string[];
  /** Only the default workspace's admin (the operator) may call it: 403 for every other key. */
  operator: boolean;
}

/** A valid body for each state-changing route, so that validation cannot answer before the lookup does. */
const BODIES: Record<string, unknown> = {
  'patch /v1/agents/{id}': { instructions: 'changed' },
  'patch /v1/tools/{name}': { description: 'changed' },
  'post /v1/model_cards/{id}': { default_model: 'changed' },
  'post /v1/vault/{name}': { value: 'changed' },
  'patch /v1/vault/{name}': { value: 'changed' },
  'patch /v1/workspaces/{id}': { max_active_runs: 1 },
  'post /v1/runs/{id}/cancel': {},
  'post /v1/runs/{id}/tools/resolve': { tool_call_id: 'tc_missing', output: 'x' },
  'post /v1/runs/{id}/feedback': { rating: 1, comment: 'bola' },
  'post /v1/sessions/{id}/runs': { input: 'hi' },
  'post /v1/sessions/{id}/messages': { content: 'hi' },
  'post /v1/sessions/{id}/events': { events: [{ type: 'user.message', content: 'hi' }] },
  'post /v1/approvals/{id}/approve': {},
  'post /v1/approvals/{id}/deny': { reason: 'no' },
  'post /v1/action_invocations/{id}/cancel': {},
  'post /v1/webhooks/{id}/rotate_secret': {},
  'patch /v1/environments/{id}': { variables: { STAGE: 'changed' } },
  'post /v1/memory_stores/{id}/entries': { text: 'changed' },
  'post /v1/memory_stores/{id}/search': { query: 'bola' },
  'patch /v1/eval_sets/{id}': { name: 'bola-set-renamed' },
};

let a: AgentSetup;
let tools: ToolServer;
const ids: Record<string, string> = {};
const foreign = {} as Record<Role, Api>;
const own = {} as Record<Role, Api>;
let operations: Operation[] = [];

async function keysOf(admin: Api): Promise<Record<Role, Api>> {
  const out = { admin } as Record<Role, Api>;
  for (const role of ROLES.slice(1)) out[role] = new Api((await admin.post('/v1/api_keys', { name: `bola-${role}`, roles: [role] })).body.key);
  return out;
}

beforeAll(async () => {
  tools = await startToolServer();
  tools.route('/w', { body: { ok: true } });
  a = await setupAgent();
  const api = a.api;
  await api.post('/v1/model_cards', { id: 'bola-card', provider: 'openai', base_url: a.llm.baseUrl, api_key: canary('bola'), default_model: 'm' });
  await api.post('/v1/tools', { name: 'bola_tool', effect: 'write', input_schema: { type: 'object' }, executor: { type: 'http', url: `${tools.url}/w` } });
  await api.post('/v1/vault', { name: 'BOLA_SECRET', value: canary('bola-vault') });
  await api.patch('/v1/agents/assistant', { tools: ['bola_tool'] });
  Object.assign(own, await keysOf(api));
  a.llm.reply({ tool_calls: [{ name: 'bola_tool', arguments: {} }] });
  const run = (await own.developer.post('/v1/runs', { agent: 'assistant', input: 'act', wait: true })).body;
  const parked = await waitForStatus(api, run.id, ['waiting_approval']);
  const action = (await api.post('/v1/action_invocations', { tool: 'bola_tool', arguments: {}, wait: false })).body;
  const hook = (await api.post('/v1/webhooks', { url: `${tools.url}/hook`, events: ['*'] })).body;
  Object.assign(ids, {
    agents: a.agent.id,
    tools: 'bola_tool',
    model_cards: 'bola-card',
    vault: 'BOLA_SECRET',
    api_keys: (await api.get('/v1/api_keys')).body.data.find((k: { name: string }) => k.name === 'bola-auditor').id,
    workspaces: (await api.get('/v1/workspaces/current')).body.id,
    sessions: run.session_id,
    runs: run.id,
    approvals: parked.pending_approvals[0].id,
    action_invocations: action.id,
    webhooks: hook.id,
    files: (await api.call('POST', '/v1/files', ((f) => (f.append('file', new Blob(['bola']), 'bola.txt'), f))(new FormData()))).body.id,
    environments: (await api.post('/v1/environments', { name: 'bola-env', variables: { STAGE: 'bola' } })).body.id,
    memory_stores: (await api.post('/v1/memory_stores', { name: 'bola-memory' })).body.id,
    skills: (await api.call('POST', '/v1/skills', ((f) => (f.append('id', 'bola-skill'), f.append('display_title', 'Bola'), f.append('description', 'Bola'), f.append('files', new Blob(['bola']), 'SKILL.md'), f))(new FormData()))).body.id,
  });
  ids.memory_entries = (await api.post(`/v1/memory_stores/${ids.memory_stores}/entries`, { text: 'bola memory' })).body.id;
  ids.connections = (await api.post('/v1/connections', { id: 'bola-conn', authorize_url: `${tools.url}/authorize`, token_url: `${tools.url}/token`, client_id: 'c', client_secret: canary('bola-client') })).body.id;
  ids.eval_sets = (await api.post('/v1/eval_sets', { name: 'bola-set', cases: [{ id: 'c1', input: 'hi' }] })).body.id;
  ids.evals = (await api.post('/v1/evals', { eval_set: 'bola-set', agent: 'assistant' })).body.id;
  for (const [k, v] of Object.entries(ids)) expect(v, k).toBeTruthy();
  Object.assign(foreign, await keysOf(await newWorkspace('intruder')));
  const doc = (await (await fetch(`${env().apiUrl}/openapi.json`)).json()) as { paths: Record<string, Record<string, { 'x-roles'?: string[]; 'x-operator-only'?: boolean }>> };
  operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).filter(([, op]) => op['x-roles']).map(([method, op]) => ({ method, path, roles: op['x-roles']!, operator: op['x-operator-only'] === true })),
  );
}, 120_000);

afterAll(async () => {
  await a?.llm.close();
  await tools?.close();
});

function concrete(path: string): string {
  const resource = path.split('/')[2]!;
  return path.replace(/\{(id|name)\}/, () => encodeURIComponent(ids[resource]!)).replace('{v}', '1').replace('{entry_id}', ids.memory_entries!).replace('{other_id}', ids.evals!).replace('{user_reference}', 'bola-user');
}

describe('authorization matrix from /openapi.json', () => {
  it('covers every documented /v1 route', () => {
    expect(operations.length).toBeGreaterThan(40);
    expect(operations.filter((o) => o.path.includes('{')).length).toBeGreaterThan(25);
  });

  it("another workspace's object is 404 for every role that may call the route, 403 for the others, never anything else", async () => {
    const seen: string[] = [];
    for (const op of operations.filter((o) => o.path.includes('{'))) {
      for (const role of ROLES) {
        const body = BODIES[`${op.method} ${op.path}`];
        const res = await foreign[role].call(op.method.toUpperCase(), concrete(op.path), op.method === 'get' || op.method === 'delete' ? undefined : (body ?? {}));
        const expected = op.roles.includes(role) && !op.operator ? 404 : 403;
        seen.push(`${op.method} ${op.path} as ${role}: ${res.status}${res.status === expected ? '' : ` (expected ${expected}: ${JSON.stringify(res.body).slice(0, 160)})`}`);
      }
    }
    expect(seen.filter((l) => l.includes('expected'))).toEqual([]);
    const by = (st: number) => seen.filter((l) => l.endsWith(`: ${st}`)).length;
    process.stdout.write(`[bola] ${seen.length / ROLES.length} routes with ids x ${ROLES.length} roles: ${seen.length} calls with another workspace's ids, ${by(404)} 404, ${by(403)} 403, 0 other\n`);
    // Nothing was touched: the parked run still waits, the agent is unchanged, the key still works.
    expect((await own.developer.get(`/v1/runs/${ids.runs}`)).body.status).toBe('waiting_approval');
    expect((await own.developer.get(`/v1/runs/${ids.runs}/feedback`)).body.data).toEqual([]);
    expect((await a.api.get(`/v1/agents/${ids.agents}`)).body.instructions).toBe('You are a test assistant.');
    expect((await own.auditor.get('/v1/runs')).status).toBe(200);
  }, 120_000);

  it("lists never include another workspace's objects", async () => {
    const lists = operations.filter((o) => o.method === 'get' && !o.path.includes('{'));
    expect(lists.length).toBeGreaterThan(8);
    for (const op of lists) {
      for (const role of ROLES.filter((r) => op.roles.includes(r))) {
        const res = await foreign[role].get(op.path);
        const text = JSON.stringify(res.body);
        for (const [kind, id] of Object.entries(ids)) {
          if (kind === 'tools' || kind === 'vault' || kind === 'model_cards') continue; // names, not unique ids
          expect(text.includes(id), `${op.path} as ${role} shows ${kind} ${id}`).toBe(false);
        }
      }
    }
  }, 120_000);

  it('every route refuses each role it does not name with 403 permission_denied', async () => {
    const wrong: string[] = [];
    let calls = 0;
    for (const op of operations) {
      for (const role of ROLES.filter((r) => !op.roles.includes(r))) {
        const path = op.path.includes('{') ? concrete(op.path) : op.path;
        const res = await own[role].call(op.method.toUpperCase(), path, op.method === 'get' || op.method === 'delete' ? undefined : (BODIES[`${op.method} ${op.path}`] ?? {}));
        calls++;
        if (res.status !== 403 || res.body?.error?.code !== 'permission_denied') wrong.push(`${op.method} ${op.path} as ${role}: ${res.status}`);
      }
    }
    expect(wrong).toEqual([]);
    process.stdout.write(`[bola] ${operations.length} routes: ${calls} calls with a role the route does not name, all 403 permission_denied\n`);
  }, 120_000);
});
