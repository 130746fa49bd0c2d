// Records workflow histories of representative runs into test/histories/ (run by hand when a workflow
// change is released: `npx tsx scripts/record-histories.ts`). The replay test re-executes every file
// against the current workflow code, so a change that would break running workflows fails CI unless it
// is guarded by patched().
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import setup, { type TestEnv } from '../test/support/global-setup';
import { decodeAllPayloads, EncryptionCodec } from '../src/temporal/codec';
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
  await call('POST', '/v1/tools', { name: 'ticket', effect: 'write', input_schema: { type: 'object', properties: { title: { type: 'string' } } }, executor: { type: 'http', url: `${tools.url}/t` } });
  await call('POST', '/v1/tools', { name: 'client_calc', effect: 'read', input_schema: { type: 'object', properties: { x: { type: 'number' } } }, executor: { type: 'client' } });
  await call('POST', '/v1/agents', { name: 'a', model: { card: 'fake' }, tools: ['weather', 'slow', 'ticket', 'client_calc'], limits: { max_steps: 3 }, approval: { timeout_seconds: 3600 } });
  await call('POST', '/v1/agents', { name: 'b', model: { card: 'fake' }, tools: ['ticket'], approval: { timeout_seconds: 1, on_timeout: 'fail' } });
  const approver = (await call('POST', '/v1/api_keys', { name: 'approver', roles: ['approver'] })).key as string;
  const decide = async (path: string, body: unknown) =>
    fetch(`${e.apiUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${approver}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const until = async (id: string, statuses: string[], kind = 'runs') => {
    process.stdout.write(`waiting for ${kind} ${id} to be ${statuses.join('/')}\n`);
    for (let s = ''; !statuses.includes(s); await new Promise((r) => setTimeout(r, 100))) s = (await call('GET', `/v1/${kind}/${id}`)).status;
  };

  // The five histories recorded before the 'governance-v1' patch (plain-answer, read-tools-and-invalid-
  // arguments, write-tool-refused, max-steps-exceeded, canceled-during-tool) stay in the repository as
  // recorded: this build can no longer produce them, which is the point of keeping them.
  const runs: Record<string, string> = {};
  tools.route('/slow', { delay_ms: 30_000, body: {} });

  // With the governance gate (patched 'governance-v1').
  tools.route('/t', { body: { ticket: 'T-1' } });
  // Names recorded earlier are skipped when writing; later code paths get new names (patch suffixes).
  const scenarios = [
    ['approval-granted', { approve: {} }],
    ['approval-denied', { deny: { reason: 'no' } }],
    ['approval-edited', { approve: { arguments: { title: 'edited' } } }],
    ['approval-granted-timeout-paused', { approve: {} }],
    // With 'search-attributes-v1': each status change is an UpsertWorkflowSearchAttributes event.
    ['approval-granted-search-attributes', { approve: {} }],
    // With 'local-store-activities-v1': store activities are local-activity markers; run.queued is stored with the first batch.
    ['approval-granted-local-store', { approve: {} }],
    ['approval-denied-local-store', { deny: { reason: 'no' } }],
  ] as const;
  for (const [name, decision] of scenarios) {
    llm.reply({ tool_calls: [{ name: 'ticket', arguments: { title: 'x' } }] }, { text: 'ok' });
    const run = await call('POST', '/v1/runs', { agent: 'a', input: name, wait: true });
    const [verb, body] = Object.entries(decision)[0]!;
    await decide(`/v1/approvals/${run.pending_approvals[0].id}/${verb}`, body);
    await until(run.id, ['completed']);
    runs[name] = run.id;
    process.stdout.write(`scenario ${name} done\n`);
  }
  llm.reply({ tool_calls: [{ name: 'ticket', arguments: { title: 'late' } }] });
  const expired = await call('POST', '/v1/runs', { agent: 'b', input: 'expire', wait: true });
  await until(expired.id, ['failed']);
  runs['approval-expired-fail'] = expired.id;
  llm.reply({ tool_calls: [{ name: 'client_calc', arguments: { x: 1 } }] }, { text: 'ok' });
  const client = await call('POST', '/v1/runs', { agent: 'a', input: 'client', wait: true });
  await call('POST', `/v1/runs/${client.id}/tools/resolve`, { tool_call_id: client.pending_tool_calls[0].id, output: { y: 2 } });
  await until(client.id, ['completed']);
  runs['client-tool'] = client.id;
  // Failed by each cap, and an expired approval that the agent answers with a denial.
  await call('POST', '/v1/agents', { name: 'capped', model: { card: 'fake' }, tools: ['weather', 'ticket'], limits: { max_tool_calls: 1, max_tokens: 1000, timeout_seconds: 2 }, approval: { timeout_seconds: 1, on_timeout: 'deny' } });
  llm.reply({ tool_calls: [{ name: 'weather', arguments: { city: 'A' } }, { name: 'weather', arguments: { city: 'B' } }] });
  runs['max-tool-calls-exceeded'] = (await call('POST', '/v1/runs', { agent: 'capped', input: 'two calls', wait: true })).id;
  llm.reply({ text: 'expensive', usage: { input_tokens: 900, output_tokens: 200 } });
  runs['budget-exceeded-max-tokens'] = (await call('POST', '/v1/runs', { agent: 'capped', input: 'tokens', wait: true })).id;
  llm.reply({ text: 'too slow', delay_ms: 5000 });
  const slowRun = await call('POST', '/v1/runs', { agent: 'capped', input: 'slow' });
  await until(slowRun.id, ['failed']);
  runs['timeout'] = slowRun.id;
  llm.reply({ tool_calls: [{ name: 'ticket', arguments: { title: 'nobody answers' } }] }, { text: 'The approval expired.' });
  const expiredDeny = await call('POST', '/v1/runs', { agent: 'capped', input: 'expire', wait: true });
  await until(expiredDeny.id, ['completed']);
  runs['approval-expired-deny'] = expiredDeny.id;

  const action = await call('POST', '/v1/action_invocations', { tool: 'ticket', arguments: { title: 'act' } });
  await decide(`/v1/approvals/${action.approval.id}/approve`, {});
  await until(action.id, ['completed'], 'action_invocations');
  runs['action-invocation-approved'] = (await call('GET', `/v1/action_invocations/${action.id}`)).id;

  const connection = await Connection.connect({ address: e.temporalAddress });
  const temporal = new Client({ connection, namespace: e.namespace });
  fs.mkdirSync(OUT, { recursive: true });
  for (const [name, id] of Object.entries(runs)) {
    // Histories already in the repository are kept: they prove that older runs still replay.
    if (fs.existsSync(path.join(OUT, `${name}.json`))) continue;
    // Stored decoded: the repository's histories must not depend on this recording's throwaway key.
    const history = await decodeAllPayloads(await temporal.workflow.getHandle(id).fetchHistory(), new EncryptionCodec([Buffer.from(e.masterKey, 'base64')]));
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
