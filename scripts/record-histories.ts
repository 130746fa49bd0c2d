// Records workflow histories of representative runs into test/histories/ (run by hand when a workflow
// change is released: `npx tsx scripts/record-histories.ts`). The replay test re-executes every file
// against the current workflow code, so a change that would break running workflows fails CI unless it
// is guarded by patched().
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import setup, { type TestEnv } from '../test/support/global-setup';
import { startFakeLlm } from '../test/fixtures/fake-llm';
import { startToolServer } from '../test/fixtures/tool-server';

const OUT = path.resolve(__dirname, '../test/histories');

async function main(): Promise<void> {
  let env: TestEnv | undefined;
  const teardown = await setup({ provide: (_k: string, v: TestEnv) => void (env = v) } as never);
  const e = env!;
  const llm = await startFakeLlm('openai');
  const tools = await startToolServer();
  tools.route('/w', { body: { temp_c: 21 } });
  tools.route('/slow', { delay_ms: 30_000, body: {} });
  const ws = await (await fetch(`${e.apiUrl}/v1/workspaces`, { method: 'POST', headers: { authorization: `Bearer ${e.adminKey}`, 'content-type': 'application/json' }, body: '{"name":"histories"}' })).json() as { admin_key: string };
  const call = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${e.apiUrl}${p}`, { method, headers: { authorization: `Bearer ${ws.admin_key}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return (await res.json()) as Record<string, any>;
  };
  await call('POST', '/v1/model_cards', { id: 'fake', provider: 'openai', base_url: llm.baseUrl, api_key: 'sk-recording', default_model: 'm' });
  const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
  await call('POST', '/v1/tools', { name: 'weather', effect: 'read', input_schema: schema, executor: { type: 'http', url: `${tools.url}/w` } });
  await call('POST', '/v1/tools', { name: 'slow', effect: 'read', input_schema: schema, executor: { type: 'http', url: `${tools.url}/slow` } });
  await call('POST', '/v1/tools', { name: 'ticket', effect: 'write', input_schema: { type: 'object' }, executor: { type: 'http', url: `${tools.url}/t` } });
  await call('POST', '/v1/agents', { name: 'a', model: { card: 'fake' }, tools: ['weather', 'slow', 'ticket'], limits: { max_steps: 3 } });

  const runs: Record<string, string> = {};
  llm.reply({ text: 'Plain answer.' });
  runs['plain-answer'] = (await call('POST', '/v1/runs', { agent: 'a', input: 'hi', wait: true })).id;
  llm.reply({ tool_calls: [{ name: 'weather', arguments: { city: 'A' } }] }, { tool_calls: [{ name: 'weather', arguments: { city: 'B' } }, { name: 'weather', arguments: { town: 'C' } }] }, { text: 'Both 21.' });
  runs['read-tools-and-invalid-arguments'] = (await call('POST', '/v1/runs', { agent: 'a', input: 'weather', wait: true })).id;
  llm.reply({ tool_calls: [{ name: 'ticket', arguments: {} }] }, { text: 'Could not.' });
  runs['write-tool-refused'] = (await call('POST', '/v1/runs', { agent: 'a', input: 'ticket', wait: true })).id;
  llm.reply(...[1, 2, 3].map((i) => ({ tool_calls: [{ name: 'weather', arguments: { city: `C${i}` } }] })));
  runs['max-steps-exceeded'] = (await call('POST', '/v1/runs', { agent: 'a', input: 'loop', wait: true })).id;
  llm.reply({ tool_calls: [{ name: 'slow', arguments: { city: 'X' } }] });
  const slow = await call('POST', '/v1/runs', { agent: 'a', input: 'slow' });
  while (tools.requests.filter((r) => r.path === '/slow').length === 0) await new Promise((r) => setTimeout(r, 100));
  await call('POST', `/v1/runs/${slow.id}/cancel`, {});
  for (let s = ''; s !== 'canceled'; ) s = (await call('GET', `/v1/runs/${slow.id}`)).status;
  runs['canceled-during-tool'] = slow.id;

  const connection = await Connection.connect({ address: e.temporalAddress });
  const client = new Client({ connection, namespace: e.namespace });
  fs.mkdirSync(OUT, { recursive: true });
  for (const [name, id] of Object.entries(runs)) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    fs.writeFileSync(path.join(OUT, `${name}.json`), `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 1)}\n`);
    process.stdout.write(`recorded ${name} (${id})\n`);
  }
  await connection.close();
  await llm.close();
  await tools.close();
  await teardown();
}

main().catch((err) => {
  process.stderr.write(`${String(err?.stack ?? err)}\n`);
  process.exit(1);
});
