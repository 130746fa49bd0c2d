// /openapi.json publishes the run-event catalogue (RunEvent, a oneOf with a discriminator on `type`) and
// the main objects (Run, Session, Approval, Agent, Tool, AgentBundle, ImportResult, UsageReport). What the API really
// answers validates against them, and types generated from the document (openapi-typescript) type-check
// the CLI's event rendering.
import fs from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { afterEach, describe, expect, it } from 'vitest';
import { RUN_EVENT_DATA } from '../../src/domain/run-event';
import { startToolServer } from '../fixtures/tool-server';
import { allEvents, Api, env, setupAgent, waitForStatus } from '../support/api';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

type Doc = { components: { schemas: Record<string, any> }; paths: Record<string, any> };
const document = async (): Promise<Doc> => (await (await fetch(`${env().apiUrl}/openapi.json`)).json()) as Doc;

/** A validator for `#/components/schemas/<name>` of the document. */
function validators(doc: Doc) {
  // `discriminator` is OpenAPI's keyword, not JSON Schema's: not strict about it.
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: 'https://ap.test/openapi.json', components: doc.components });
  return (name: string) => {
    const v = ajv.getSchema(`https://ap.test/openapi.json#/components/schemas/${name}`);
    if (!v) throw new Error(`no schema ${name}`);
    return (value: unknown): string[] => (v(value) ? [] : (v.errors ?? []).map((e) => `${e.instancePath} ${e.message}`));
  };
}

describe('/openapi.json objects', () => {
  it('publishes RunEvent as a oneOf with a discriminator mapping every stored type, and the object schemas', async () => {
    const doc = await document();
    const event = doc.components.schemas.RunEvent;
    expect(event.oneOf).toHaveLength(Object.keys(RUN_EVENT_DATA).length);
    expect(event.discriminator.propertyName).toBe('type');
    expect(Object.keys(event.discriminator.mapping).sort()).toEqual(Object.keys(RUN_EVENT_DATA).sort());
    for (const ref of Object.values(event.discriminator.mapping) as string[]) expect(doc.components.schemas[ref.split('/').pop()!]).toBeDefined();
    for (const name of ['Run', 'Session', 'Approval', 'Agent', 'Tool', 'RunDelta']) expect(doc.components.schemas[name]).toBeDefined();
    const events = doc.paths['/v1/runs/{id}/events'].get.responses['200'].content['application/json'].schema;
    expect(events.properties.data.items).toEqual({ $ref: '#/components/schemas/RunEvent' });
    expect(doc.paths['/v1/runs/{id}'].get.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Run' });
  });

  it("the API's real answers match their published schemas: a governed run, its events, approval, session, agent, tool, bundle, import and usage", async () => {
    const tools = await startToolServer();
    const s = await setupAgent();
    cleanups.push(() => s.llm.close(), () => tools.close());
    tools.route('/tickets', { body: { ticket: 'T-1' } });
    const tool = await s.api.post('/v1/tools', {
      name: 'create_ticket',
      effect: 'write',
      input_schema: { type: 'object', properties: { title: { type: 'string' } }, required: ['title'] },
      executor: { type: 'http', url: `${tools.url}/tickets` },
    });
    const agent = await s.api.patch('/v1/agents/assistant', { tools: ['create_ticket'] });
    const approver = new Api((await s.api.post('/v1/api_keys', { name: 'approver', roles: ['approver'] })).body.key);
    s.llm.reply({ text: 'Filing it.', tool_calls: [{ name: 'create_ticket', arguments: { title: 'Printer on fire' } }] }, { text: 'Filed T-1.' });
    const parked = (await s.api.post('/v1/runs', { agent: 'assistant', input: 'file a ticket', wait: true })).body;
    expect(parked.status).toBe('waiting_approval');
    const approved = await approver.post(`/v1/approvals/${parked.pending_approvals[0].id}/approve`, { comment: 'ok' });
    await waitForStatus(s.api, parked.id, ['completed']);
    s.llm.reply({ text: 'You are welcome.' });
    const done = await s.api.post(`/v1/sessions/${parked.session_id}/runs`, { input: 'thanks', wait: true });
    expect(done.body.status).toBe('completed');

    const bundle = (await s.api.get('/v1/agents/assistant/export')).body;
    const check = validators(await document());
    const problems: Record<string, string[]> = {
      tool: check('Tool')(tool.body),
      agent: check('Agent')(agent.body),
      parked_run: check('Run')(parked),
      approval: check('Approval')(approved.body),
      session: check('Session')((await s.api.get(`/v1/sessions/${parked.session_id}`)).body),
      next_run: check('Run')(done.body),
      run_list: (await s.api.get('/v1/runs')).body.data.flatMap(check('Run')),
      bundle: check('AgentBundle')(bundle),
      import: check('ImportResult')((await s.api.post('/v1/imports', { bundle, dry_run: true })).body),
      usage: (await Promise.all(['day', 'agent', 'model'].map((g) => s.api.get(`/v1/usage?group_by=${g}`)))).flatMap((r) => check('UsageReport')(r.body)),
    };
    const events = await allEvents(s.api, parked.id);
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['approval.requested', 'approval.decided', 'tool_call.completed', 'run.completed']));
    problems.events = events.flatMap((e) => check('RunEvent')(e).map((m) => `${e.type}: ${m}`));
    expect(problems).toEqual({ tool: [], agent: [], parked_run: [], approval: [], session: [], next_run: [], run_list: [], bundle: [], import: [], usage: [], events: [] });
    // The schemas can refuse: an event whose data does not fit its type.
    expect(check('RunEvent')({ ...events[0], type: 'step.started', data: { step: 'one' } })).not.toEqual([]);
  });

  it("types generated from it with openapi-typescript type-check the CLI's event rendering", async () => {
    const doc = await document();
    const generated = astToString(await openapiTS(doc as never));
    const dir = path.join(env().runDir, 'openapi-types');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'api.d.ts'), generated);
    const root = path.resolve(__dirname, '..', '..');
    // The CLI renders what the API sends: every generated RunEvent variant must be accepted by it.
    const check = (body: string): readonly ts.Diagnostic[] => {
      const file = path.join(dir, 'check.ts');
      fs.writeFileSync(file, `import type { components } from './api';\nimport { describe, EventPrinter, StatusLine } from '${path.join(root, 'src/cli/client/render')}';\n${body}\n`);
      const program = ts.createProgram([file], { strict: true, noEmit: true, skipLibCheck: true, module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, types: ['node'], typeRoots: [path.join(root, 'node_modules/@types')] });
      return ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === file);
    };
    const text = (ds: readonly ts.Diagnostic[]) => ds.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(
      text(
        check(`
type Event = components['schemas']['RunEvent'];
type Delta = components['schemas']['RunDelta'];
export const line = (e: Event): string | undefined => describe(e);
export const print = (p: EventPrinter, item: Event | Delta): void => p.print(item);
export const status = (s: StatusLine, e: Event): void => s.update(e);`),
      ),
    ).toEqual([]);
    // And the check can fail: a made-up event type is refused by the CLI's types.
    expect(text(check(`export const bad = describe({ id: 'e', object: 'run.event', run_id: 'r', seq: 1, created_at: '', type: 'run.exploded', data: {} });`)).length).toBeGreaterThan(0);
  });
});
