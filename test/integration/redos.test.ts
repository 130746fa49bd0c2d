// Tenant regular expressions and schemas cannot freeze or crash a process (issue 17, items 2, 3, 9): patterns
// run in RE2 (linear time), what RE2 cannot run is refused when saved, and schemas share no namespace.
// The hostile requests go to an API and a worker of their own: on a backtracking engine they block for hours.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allEvents, Api, expectError, newWorkspace, setupAgent, waitForStatus } from '../support/api';
import { startPair, type Pair } from '../support/pair';

/** `^(a+)+$` against this backtracks 2^40 times in JavaScript's RegExp. */
const HOSTILE = `${'a'.repeat(40)}!`;
const CATASTROPHIC = '^(a+)+$';

let pair: Pair;
let base: string;
beforeAll(async () => {
  pair = await startPair('redos');
  base = `http://127.0.0.1:${pair.port}`;
}, 120_000);
afterAll(async () => {
  await Promise.all([pair?.api.kill('SIGKILL'), pair?.worker.kill('SIGKILL')]);
});

/** A workspace on this file's own API process. */
const workspace = async (): Promise<Api> => new Api((await newWorkspace()).key, base);

const healthz = async (): Promise<number> => (await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(30_000) })).status;

describe('regular expressions run in linear time', () => {
  it('an action invocation against a backtracking tool pattern is answered, and the API stays responsive', async () => {
    const api = await workspace();
    const tool = await api.post('/v1/tools', {
      name: 'code_lookup', effect: 'read', executor: { type: 'builtin', name: 'echo' },
      input_schema: { type: 'object', properties: { code: { type: 'string', pattern: CATASTROPHIC } }, required: ['code'] },
    });
    expect(tool.status).toBe(201);
    const [refused, health] = await Promise.all([api.post('/v1/action_invocations', { tool: 'code_lookup', arguments: { code: HOSTILE } }), healthz()]);
    expectError(refused, 400, 'invalid_request_error', 'invalid_tool_arguments');
    expect(refused.body.error.message).toMatch(/must match pattern/);
    expect(health).toBe(200);
    expect(await healthz()).toBe(200);
    const ok = await api.post('/v1/action_invocations', { tool: 'code_lookup', arguments: { code: 'aaaa' } });
    expect(ok.body).toMatchObject({ status: 'completed' });
  });

  it('a run whose policy `matches` meets a long argument is decided, and the worker runs other runs', async () => {
    const api = await workspace();
    const { llm } = await setupAgent({ api, tools: [] });
    await api.post('/v1/tools', { name: 'echo_text', effect: 'read', executor: { type: 'builtin', name: 'echo' }, input_schema: { type: 'object', properties: { text: { type: 'string' } } } });
    await api.post('/v1/tools', {
      name: 'code_lookup', effect: 'read', executor: { type: 'builtin', name: 'echo' },
      input_schema: { type: 'object', properties: { code: { type: 'string', pattern: CATASTROPHIC } } },
    });
    expect((await api.patch('/v1/agents/assistant', { tools: ['echo_text', 'code_lookup'] })).status).toBe(200);
    const rules = [{ id: 'no-a-runs', match: { tool: 'echo_text', arguments: { text: { matches: CATASTROPHIC } } }, action: 'deny' }];

    llm.reply({ tool_calls: [{ name: 'echo_text', arguments: { text: HOSTILE } }] }, { text: 'Echoed.' });
    const decided = (await api.post('/v1/runs', { agent: 'assistant', input: 'echo it', constraints: { rules } })).body;
    const done = await waitForStatus(api, decided.id, ['completed', 'failed']);
    expect(done.status).toBe('completed');
    const decision = (await allEvents(api, decided.id)).find((e) => e.type === 'policy.decided');
    expect(decision.data).toMatchObject({ action: 'allow', rule_id: 'default_read' });

    // The same rule still denies what it matches.
    llm.reply({ tool_calls: [{ name: 'echo_text', arguments: { text: 'aaaa' } }] }, { text: 'Refused.' });
    const denied = (await api.post('/v1/runs', { agent: 'assistant', input: 'echo it', constraints: { rules } })).body;
    await waitForStatus(api, denied.id, ['completed']);
    expect((await allEvents(api, denied.id)).find((e) => e.type === 'policy.decided').data).toMatchObject({ action: 'deny', rule_id: 'no-a-runs' });

    // The worker checks the model's arguments against the tool's pattern in RE2 too.
    llm.reply({ tool_calls: [{ name: 'code_lookup', arguments: { code: HOSTILE } }] }, { text: 'That code is invalid.' });
    const checked = (await api.post('/v1/runs', { agent: 'assistant', input: 'look it up' })).body;
    expect((await waitForStatus(api, checked.id, ['completed'])).output_text).toBe('That code is invalid.');
    const failed = (await allEvents(api, checked.id)).find((e) => e.type === 'tool_call.failed');
    expect(failed.data.error).toMatchObject({ code: 'invalid_tool_arguments' });

    llm.reply({ text: 'Hello.' });
    const other = (await api.post('/v1/runs', { agent: 'assistant', input: 'hi' })).body;
    expect((await waitForStatus(api, other.id, ['completed'])).output_text).toBe('Hello.');
  });
});

describe('patterns RE2 cannot run are refused when saved', () => {
  it('in tool schemas, policies, run constraints and eval sets, naming the field', async () => {
    const api = await workspace();
    const schemaWith = (code: Record<string, unknown>) => ({ name: 't', effect: 'read', executor: { type: 'builtin', name: 'echo' }, input_schema: { type: 'object', properties: { code } } });
    const refused = async (res: Promise<{ status: number; body: any; headers: Headers }>, param: string) => {
      const r = await res;
      expectError(r, 400, 'invalid_request_error', 'validation_failed');
      expect(r.body.error.param).toBe(param);
    };
    await refused(api.post('/v1/tools', schemaWith({ type: 'string', pattern: '^(?=a)\\w+$' })), 'input_schema.properties.code.pattern');
    await refused(api.post('/v1/tools', schemaWith({ type: 'string', pattern: '^(a)\\1$' })), 'input_schema.properties.code.pattern');
    await refused(api.post('/v1/tools', { ...schemaWith({}), input_schema: { type: 'object', patternProperties: { '(?<!x)y': {} } } }), 'input_schema.patternProperties.(?<!x)y');
    await refused(api.post('/v1/tools', schemaWith({ type: 'array', uniqueItems: true })), 'input_schema.properties.code.uniqueItems');
    expect((await api.post('/v1/tools', schemaWith({ type: 'array', uniqueItems: true, maxItems: 50 }))).status).toBe(201);
    // References that double at each of 30 levels: 2^30 subschema calls on every validation.
    const $defs: Record<string, unknown> = { d30: { type: 'string' } };
    for (let i = 0; i < 30; i++) $defs[`d${i}`] = { allOf: [{ $ref: `#/$defs/d${i + 1}` }, { $ref: `#/$defs/d${i + 1}` }] };
    await refused(api.post('/v1/tools', { ...schemaWith({ $ref: '#/$defs/d0' }), input_schema: { type: 'object', $defs, properties: { code: { $ref: '#/$defs/d0' } } } }), 'input_schema');

    const { agent } = await setupAgent({ api });
    const rule = (matches: string) => ({ id: 'r', match: { arguments: { text: { matches } } }, action: 'deny' });
    await refused(api.patch('/v1/agents/assistant', { policy: { rules: [rule('(?=secret)')] } }), 'policy.rules[0].match.arguments.text.matches');
    expect((await api.patch('/v1/agents/assistant', { policy: { rules: [rule(CATASTROPHIC)] } })).status).toBe(200);
    await refused(api.post('/v1/runs', { agent: agent.name, input: 'x', constraints: { rules: [rule('(a)\\1')] } }), 'constraints.rules[0].match.arguments.text.matches');
    await refused(api.post('/v1/eval_sets', { name: 'set', cases: [{ id: 'c1', input: 'x', expect: { output_matches: '(?<=a)b' } }] }), 'cases[0].expect.output_matches');
  });
});

describe('tool schemas are compiled each on its own', () => {
  it('one workspace cannot claim a schema $id, block another workspace with it, or reference it', async () => {
    const a = await workspace();
    const b = await workspace();
    const tool = (input_schema: Record<string, unknown>) => ({ name: 'shared', effect: 'read', executor: { type: 'builtin', name: 'echo' }, input_schema });
    const claimed = await a.post('/v1/tools', tool({ type: 'object', $id: 'https://schemas.example/order', properties: { id: { type: 'string' } } }));
    expectError(claimed, 400, 'invalid_request_error', 'validation_failed');
    expect(claimed.body.error.param).toBe('input_schema.$id');
    // Before, the second create failed with "schema with key or id ... already exists" (the first one won the name).
    const again = await b.post('/v1/tools', tool({ type: 'object', $id: 'https://schemas.example/order', properties: { id: { type: 'string' } } }));
    expect(again.body.error.param).toBe('input_schema.$id');
    const reference = await b.post('/v1/tools', tool({ type: 'object', properties: { order: { $ref: 'https://schemas.example/order' } } }));
    expectError(reference, 400, 'invalid_request_error', 'validation_failed');
    expect(reference.body.error.param).toBe('input_schema.properties.order.$ref');
    const local = await b.post('/v1/tools', tool({ type: 'object', $defs: { id: { type: 'string' } }, properties: { order: { $ref: '#/$defs/id' } } }));
    expect(local.status).toBe(201);
  });
});
