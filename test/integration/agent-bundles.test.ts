// Export and import of agents (API.md 16): a bundle carries an agent between workspaces by name, with
// names of what it needs and never a secret; an import is all-or-nothing, one audit record, and a dry
// run stores nothing.
import { afterEach, describe, expect, it } from 'vitest';
import { startToolServer } from '../fixtures/tool-server';
import { canary } from '../support/canaries';
import { Api, expectError, newWorkspace, setupAgent, type AgentSetup } from '../support/api';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const POLICY = { rules: [{ id: 'high-needs-approval', match: { tool: 'create_ticket', arguments: { priority: { in: ['high'] } } }, action: 'require_approval', reason: 'pages on-call' }] };

/** The source workspace: a card with a secret key and header, a vault secret a tool header uses, and an agent at version 2. */
async function source(): Promise<AgentSetup & { secrets: string[]; toolUrl: string }> {
  const tools = await startToolServer();
  const s = await setupAgent();
  cleanups.push(() => s.llm.close(), () => tools.close());
  tools.route('/tickets', { body: { ticket: 'T-1' } });
  const vaultValue = canary('bundle-vault');
  const headerValue = canary('bundle-card-header');
  expect((await s.api.post('/v1/vault', { name: 'tickets_token', value: vaultValue })).status).toBe(201);
  expect((await s.api.post('/v1/model_cards/fake', { headers: { 'X-Org': headerValue } })).status).toBe(200);
  const tool = await s.api.post('/v1/tools', {
    name: 'create_ticket',
    effect: 'write',
    input_schema: { type: 'object', properties: { title: { type: 'string' }, priority: { enum: ['low', 'high'] } }, required: ['title'] },
    executor: { type: 'http', url: `${tools.url}/tickets`, headers: { Authorization: 'Bearer {{vault.tickets_token}}' } },
  });
  expect(tool.status).toBe(201);
  expect((await s.api.patch('/v1/agents/assistant', { tools: ['create_ticket'], policy: POLICY })).body.version).toBe(2);
  return { ...s, secrets: [vaultValue, headerValue, s.apiKeyCanary], toolUrl: `${tools.url}/tickets` };
}

const imports = async (api: Api) => (await api.get('/v1/audit_log?type=agent.import')).body.data;

describe('agent export and import', () => {
  it('an export from one workspace imported into another, with a dry run first', async () => {
    const src = await source();
    const exported = await src.api.get('/v1/agents/assistant/export');
    expect(exported.status).toBe(200);
    const bundle = exported.body;
    expect(bundle).toEqual({
      object: 'agent_bundle',
      format: 1,
      agent: expect.objectContaining({ name: 'assistant', version: 2, model: { card: 'fake' }, tools: ['create_ticket'], policy: POLICY, instructions: 'You are a test assistant.' }),
      tools: [expect.objectContaining({ name: 'create_ticket', effect: 'write', executor: expect.objectContaining({ headers: { Authorization: 'Bearer {{vault.tickets_token}}' } }) })],
      model_cards: ['fake'],
      vault: ['tickets_token'],
    });
    // Ids are the source workspace's: a bundle names things.
    expect(bundle.agent.id).toBeUndefined();
    expect(bundle.tools[0].id).toBeUndefined();
    for (const secret of src.secrets) expect(JSON.stringify(bundle)).not.toContain(secret);
    // The version exported can be an older one.
    expect((await src.api.get('/v1/agents/assistant/export?version=1')).body.agent).toMatchObject({ version: 1, tools: [], policy: { rules: [] } });

    const dst = await newWorkspace('import-target');
    const refused = await dst.post('/v1/imports', { bundle });
    expectError(refused, 400, 'invalid_request_error', 'import_missing_dependencies');
    expect(refused.body.error.missing).toEqual({ model_cards: ['fake'], vault: ['tickets_token'], skills: [], memory_stores: [], connections: [] });
    expect(refused.body.error.message).toContain('fake');
    expect(refused.body.error.message).toContain('tickets_token');
    expect((await dst.get('/v1/tools')).body.data).toEqual([]);

    expect((await dst.post('/v1/model_cards', { id: 'fake', provider: 'openai', base_url: src.llm.baseUrl, api_key: canary('dst-key'), default_model: 'fake-model' })).status).toBe(201);
    expect((await dst.post('/v1/vault', { name: 'tickets_token', value: canary('dst-vault') })).status).toBe(201);

    const dry = await dst.post('/v1/imports', { bundle, dry_run: true });
    expect(dry.status).toBe(200);
    const created = [
      { kind: 'tool', name: 'create_ticket', action: 'create' },
      { kind: 'agent', name: 'assistant', action: 'create', version: 1 },
    ];
    expect(dry.body).toEqual({ object: 'import', applied: false, changes: created });
    expect((await dst.get('/v1/agents')).body.data).toEqual([]);
    expect((await dst.get('/v1/tools')).body.data).toEqual([]);
    expect(await imports(dst)).toEqual([]);

    const applied = await dst.post('/v1/imports', { bundle });
    expect(applied.status).toBe(200);
    expect(applied.body).toEqual({ object: 'import', applied: true, changes: created });
    const agent = (await dst.get('/v1/agents/assistant')).body;
    expect(agent).toMatchObject({ name: 'assistant', version: 1, tools: ['create_ticket'], policy: POLICY, model: { card: 'fake' } });
    expect((await dst.get('/v1/tools/create_ticket')).body).toMatchObject({ executor: { url: src.toolUrl, headers: { Authorization: 'Bearer {{vault.tickets_token}}' } } });
    const [record] = await imports(dst);
    expect(record).toMatchObject({ action: 'agent.import', target: 'assistant', data: { changes: created } });
    expect(await imports(dst)).toHaveLength(1);

    // The imported agent runs in its new workspace.
    src.llm.reply({ text: 'Hello from the copy.' });
    expect((await dst.post('/v1/runs', { agent: 'assistant', input: 'hi', wait: true })).body).toMatchObject({ status: 'completed', output_text: 'Hello from the copy.', agent_version: 1 });

    // The same bundle again changes nothing and makes no version.
    const again = await dst.post('/v1/imports', { bundle });
    expect(again.body).toEqual({
      object: 'import',
      applied: true,
      changes: [
        { kind: 'tool', name: 'create_ticket', action: 'unchanged' },
        { kind: 'agent', name: 'assistant', action: 'unchanged', version: 1 },
      ],
    });
    expect((await dst.get('/v1/agents/assistant/versions')).body.data).toHaveLength(1);

    // A changed agent is a new version; its unchanged tool stays as it is.
    expect((await src.api.patch('/v1/agents/assistant', { instructions: 'Be brief.' })).status).toBe(200);
    const next = (await src.api.get('/v1/agents/assistant/export')).body;
    expect((await dst.post('/v1/imports', { bundle: next, dry_run: true })).body.changes).toEqual([
      { kind: 'tool', name: 'create_ticket', action: 'unchanged' },
      { kind: 'agent', name: 'assistant', action: 'update', version: 2 },
    ]);
    expect((await dst.get('/v1/agents/assistant')).body.version).toBe(1);
    expect((await dst.post('/v1/imports', { bundle: next })).body.changes[1]).toEqual({ kind: 'agent', name: 'assistant', action: 'update', version: 2 });
    expect((await dst.get('/v1/agents/assistant')).body).toMatchObject({ version: 2, instructions: 'Be brief.' });
    expect((await dst.get('/v1/agents/assistant/versions/1')).body.instructions).toBe('You are a test assistant.');
    expect(await imports(dst)).toHaveLength(3);
  });

  it('a bundle that fails validation, or fails part-way, stores nothing', async () => {
    const src = await source();
    const bundle = (await src.api.get('/v1/agents/assistant/export')).body;

    const cases: [unknown, string][] = [
      [{ ...bundle, format: 2 }, 'bundle.format'],
      [{ ...bundle, agent: { ...bundle.agent, model: undefined } }, 'bundle.agent.model'],
      [{ ...bundle, tools: [{ ...bundle.tools[0], input_schema: { type: 'string' } }] }, 'bundle.tools[0].input_schema'],
      [{ ...bundle, vault: ['not a name'] }, 'bundle.vault[0]'],
      [{ ...bundle, extra: true }, 'bundle.extra'],
    ];
    for (const [bad, param] of cases) {
      const res = await src.api.post('/v1/imports', { bundle: bad });
      expectError(res, 400, 'invalid_request_error', 'validation_failed');
      expect(res.body.error.param).toBe(param);
    }
    expectError(await src.api.post('/v1/imports', {}), 400, 'invalid_request_error', 'validation_failed');

    // The tools are fine, the agent names a tool that is neither in the bundle nor in the workspace:
    // the transaction rolls back, the new tool included.
    const renamed = { ...bundle, tools: [{ ...bundle.tools[0], name: 'new_tool' }], agent: { ...bundle.agent, name: 'copy', tools: ['new_tool', 'nowhere'] } };
    const res = await src.api.post('/v1/imports', { bundle: renamed });
    expectError(res, 400, 'invalid_request_error', 'unknown_tool');
    expect(res.body.error.param).toBe('bundle.agent.tools');
    expect((await src.api.get('/v1/tools/new_tool')).status).toBe(404);
    expect((await src.api.get('/v1/agents/copy')).status).toBe(404);
    expect(await imports(src.api)).toEqual([]);
  });

  it('export reads like the agent (developer, auditor, not another workspace); import needs an admin', async () => {
    const src = await source();
    const developer = new Api((await src.api.post('/v1/api_keys', { name: 'dev', roles: ['developer'] })).body.key);
    const bundle = (await developer.get('/v1/agents/assistant/export')).body;
    expect(bundle.object).toBe('agent_bundle');
    expect((await src.api.get(`/v1/agents/${src.agent.id}/export`)).body).toEqual(bundle);
    expectError(await developer.post('/v1/imports', { bundle, dry_run: true }), 403, 'permission_error', 'permission_denied');
    const other = await newWorkspace('other');
    expectError(await other.get(`/v1/agents/${src.agent.id}/export`), 404, 'not_found_error', 'not_found');
    expectError(await src.api.get('/v1/agents/assistant/export?version=9'), 404, 'not_found_error', 'not_found');
  });
});
