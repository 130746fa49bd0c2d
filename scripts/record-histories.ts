// Records workflow histories of representative runs into test/histories/ (run by hand when a workflow
// change is released: `npx tsx scripts/record-histories.ts`). The replay test re-executes every file
// against the current workflow code, so a change that would break running workflows fails CI unless it
// is guarded by patched(). `npx tsx scripts/record-histories.ts NAME...` records only the named scenarios
// of those that can run alone (ALONE below), and skips every other scenario.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import setup, { type TestEnv } from '../test/support/global-setup';
import { dataConverter, decodeAllPayloads, EncryptionCodec } from '../src/temporal/codec';
import type { ApprovalDecision } from '../src/domain/approval';
import { signDecision } from '../src/security/approval-proof';
import { startFakeLlm } from '../test/fixtures/fake-llm';
import { startToolServer, type ToolRequest } from '../test/fixtures/tool-server';
import { startOAuthServer } from '../test/fixtures/oauth-server';

const OUT = path.resolve(__dirname, '../test/histories');
/** The scenarios recorded first, each on its own: asked for by name, they are all that runs. */
const ALONE = ['tool-result-cached'];

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
  const runs: Record<string, string> = {};
  const only = process.argv.slice(2);
  const unknown = only.filter((n) => !ALONE.includes(n));
  if (unknown.length) throw new Error(`Not a scenario that can be recorded alone: ${unknown.join(', ')} (those are ${ALONE.join(', ')})`);
  const finish = async (): Promise<void> => {
    await save(e, only.length ? Object.fromEntries(Object.entries(runs).filter(([n]) => only.includes(n))) : runs);
    await llm.close();
    await tools.close();
    await teardown();
  };

  // With 'tool-result-cached-v1': a read tool with cache_ttl_seconds called with the same arguments by two
  // runs; the second run's call is answered from the tool result cache (tool_call.completed cached: true).
  await call('POST', '/v1/tools', { name: 'cached_weather', effect: 'read', input_schema: schema, executor: { type: 'http', url: `${tools.url}/w` }, cache_ttl_seconds: 3600 });
  await call('POST', '/v1/agents', { name: 'cacher', model: { card: 'fake' }, tools: ['cached_weather'] });
  for (const input of ['first', 'cached']) {
    llm.reply({ tool_calls: [{ name: 'cached_weather', arguments: { city: 'A' } }] }, { text: 'Mild.' });
    runs['tool-result-cached'] = (await call('POST', '/v1/runs', { agent: 'cacher', input, wait: true })).id;
  }
  const cachedEvents = (await call('GET', `/v1/runs/${runs['tool-result-cached']}/events`)).data as { type: string; data: { cached?: boolean } }[];
  if (!cachedEvents.some((ev) => ev.type === 'tool_call.completed' && ev.data.cached)) throw new Error('the second call was not answered from the cache');
  if (only.length) return finish();

  const approverKey = (await call('POST', '/v1/api_keys', { name: 'approver', roles: ['approver'] })) as { id: string; key: string };
  const approver = approverKey.key;
  const decide = async (path: string, body: unknown) =>
    fetch(`${e.apiUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${approver}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const until = async (id: string, statuses: string[], kind = 'runs') => {
    process.stdout.write(`waiting for ${kind} ${id} to be ${statuses.join('/')}\n`);
    for (let s = ''; !statuses.includes(s); await new Promise((r) => setTimeout(r, 100))) s = (await call('GET', `/v1/${kind}/${id}`)).status;
  };

  // The five histories recorded before the 'governance-v1' patch (plain-answer, read-tools-and-invalid-
  // arguments, write-tool-refused, max-steps-exceeded, canceled-during-tool) stay in the repository as
  // recorded: this build can no longer produce them, which is the point of keeping them.
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
    // With 'approval-decision-proof-v1': the decision's proof is checked by a local activity.
    ['approval-granted-proof', { approve: {} }],
    ['approval-denied-proof', { deny: { reason: 'no' } }],
    // With 'run-patches-current-v1': one marker for every patch of the run workflow, 'store-with-activity-v1'
    // among them (beginRun; the events before a model or tool call stored by that activity).
    ['approval-granted-current-patches', { approve: {} }],
    ['approval-denied-current-patches', { deny: { reason: 'no' } }],
    // With the run's context in the workflow's input (its session idle at create): no beginRun.
    ['approval-granted-context-in-input', { approve: {} }],
    // With 'run-patches-current-v2' ('answer-stored-with-model-v1'): the last model call stores the run's end.
    ['approval-granted-current-v2', { approve: {} }],
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
  // With 'approval-decision-proof-v1': decisions signaled past the API (plaintext, then encrypted with
  // the real key but no proof) are refused, and the API's approval is accepted after them.
  {
    const connection = await Connection.connect({ address: e.temporalAddress });
    const forged = (id: string) => ({ approval_id: id, decision: 'approve', arguments: { title: 'forged' }, decided_by: { key_id: 'key_x', name: 'mallory' } });
    llm.reply({ tool_calls: [{ name: 'ticket', arguments: { title: 'x' } }] }, { text: 'ok' });
    const run = await call('POST', '/v1/runs', { agent: 'a', input: 'side door', wait: true });
    const approvalId = run.pending_approvals[0].id as string;
    for (const dc of [undefined, dataConverter([Buffer.from(e.masterKey, 'base64')])]) {
      const handle = new Client({ connection, namespace: e.namespace, ...(dc ? { dataConverter: dc } : {}) }).workflow.getHandle(run.id);
      await handle.signal('approvalDecision', forged(approvalId));
      // Handled once a workflow task completed after the signal and none is pending.
      for (let done = false; !done; await new Promise((r) => setTimeout(r, 100))) {
        const events = (await handle.fetchHistory()).events ?? [];
        const last = (k: string) => events.map((ev, i) => ((ev as Record<string, unknown>)[k] ? i : -1)).reduce((a, b) => Math.max(a, b), -1);
        done = last('workflowTaskCompletedEventAttributes') > Math.max(last('workflowExecutionSignaledEventAttributes'), last('workflowTaskScheduledEventAttributes'));
      }
    }
    await connection.close();
    await decide(`/v1/approvals/${approvalId}/approve`, {});
    await until(run.id, ['completed']);
    runs['approval-forged-refused-then-granted'] = run.id;
  }
  // With it too: approved edited arguments that no longer match the run's tool schema fail, unexecuted.
  await call('POST', '/v1/tools', { name: 'note', effect: 'write', input_schema: { type: 'object', properties: { title: { type: 'string', maxLength: 5 } } }, executor: { type: 'http', url: `${tools.url}/t` } });
  await call('POST', '/v1/agents', { name: 'noter', model: { card: 'fake' }, tools: ['note'], approval: { timeout_seconds: 3600 } });
  llm.reply({ tool_calls: [{ name: 'note', arguments: { title: 'x' } }] }, { text: 'ok' });
  const noted = await call('POST', '/v1/runs', { agent: 'noter', input: 'note', wait: true });
  await call('PATCH', '/v1/tools/note', { input_schema: { type: 'object', properties: { title: { type: 'string' } } } });
  await decide(`/v1/approvals/${noted.pending_approvals[0].id}/approve`, { arguments: { title: 'far too long' } });
  await until(noted.id, ['completed']);
  runs['approval-edited-invalid-arguments'] = noted.id;

  llm.reply({ tool_calls: [{ name: 'ticket', arguments: { title: 'late' } }] });
  const expired = await call('POST', '/v1/runs', { agent: 'b', input: 'expire', wait: true });
  await until(expired.id, ['failed']);
  runs['approval-expired-fail'] = expired.id;
  llm.reply({ tool_calls: [{ name: 'client_calc', arguments: { x: 1 } }] }, { text: 'ok' });
  const client = await call('POST', '/v1/runs', { agent: 'a', input: 'client', wait: true });
  await call('POST', `/v1/runs/${client.id}/tools/resolve`, { tool_call_id: client.pending_tool_calls[0].id, output: { y: 2 } });
  await until(client.id, ['completed']);
  runs['client-tool'] = client.id;
  const untilEvent = async (id: string, type: string) => {
    for (let evs: { type: string }[] = []; !evs.some((ev) => ev.type === type); await new Promise((r) => setTimeout(r, 100))) evs = (await call('GET', `/v1/runs/${id}/events`)).data;
  };
  /** Two steps of read tools, then an answer. */
  const twoReadSteps = async (name: string) => {
    llm.reply({ tool_calls: [{ name: 'weather', arguments: { city: 'A' } }] }, { tool_calls: [{ name: 'weather', arguments: { city: 'B' } }] }, { text: 'Mild.' });
    runs[name] = (await call('POST', '/v1/runs', { agent: 'a', input: 'two steps', wait: true })).id;
  };
  /** A cancel while a tool runs. */
  const cancelDuringSlowTool = async (name: string) => {
    llm.reply({ tool_calls: [{ name: 'slow', arguments: { city: 'A' } }] });
    const slowTool = await call('POST', '/v1/runs', { agent: 'a', input: 'cancel me' });
    await untilEvent(slowTool.id, 'tool_call.started');
    await call('POST', `/v1/runs/${slowTool.id}/cancel`, {});
    await until(slowTool.id, ['canceled']);
    runs[name] = slowTool.id;
  };
  // With 'run-patches-current-v1' too: two steps of read tools, and a cancel while a tool runs (its batch stored by the final flush).
  await twoReadSteps('read-tools-current-patches');
  await cancelDuringSlowTool('canceled-during-tool-current-patches');
  // With 'run-patches-current-v1': a plain answer, and read tools with a policy rule that `matches` (RE2).
  llm.reply({ text: 'Hello.' });
  runs['plain-answer-current-patches'] = (await call('POST', '/v1/runs', { agent: 'a', input: 'hello', wait: true })).id;
  // With 'run-patches-current-v2' ('answer-stored-with-model-v1'): the model activity that gets the answer
  // stores the run's end; two steps of read tools; a cancel while a tool runs (the workflow stores that end).
  llm.reply({ text: 'Hello.' });
  runs['plain-answer-current-v2'] = (await call('POST', '/v1/runs', { agent: 'a', input: 'hello', wait: true })).id;
  await twoReadSteps('read-tools-current-v2');
  await cancelDuringSlowTool('canceled-during-tool-current-v2');
  // A cancel and the answer at once (as test/integration/run-end-race.test.ts sets them up, holding the
  // session's row): the answer's end stored first and adopted by the canceled workflow; the cancel's first.
  for (const [name, cancelFirst] of [['answer-stored-then-canceled', false], ['canceled-then-answer-refused', true]] as const) {
    let open!: () => void;
    llm.reply({ text: 'Raced.', until: new Promise<void>((r) => (open = r)) });
    const raced = await call('POST', '/v1/runs', { agent: 'a', input: name });
    await untilEvent(raced.id, 'step.started');
    await new Promise((r) => setTimeout(r, 700));
    const hold = new pg.Client({ connectionString: e.databaseUrl });
    await hold.connect();
    const pid = (await hold.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    await hold.query('BEGIN');
    await hold.query('SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE', [raced.session_id]);
    const waiters = async (n: number) => {
      const q = `WITH RECURSIVE b(pid) AS (SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)) UNION SELECT a.pid FROM pg_stat_activity a JOIN b ON b.pid = ANY(pg_blocking_pids(a.pid))) SELECT count(*)::int AS n FROM b`;
      while ((await hold.query<{ n: number }>(q, [pid])).rows[0]!.n < n) await new Promise((r) => setTimeout(r, 50));
    };
    if (cancelFirst) await call('POST', `/v1/runs/${raced.id}/cancel`, {});
    else open();
    await waiters(1);
    if (cancelFirst) open();
    else await call('POST', `/v1/runs/${raced.id}/cancel`, {});
    await waiters(2);
    await hold.query('COMMIT');
    await hold.end();
    await until(raced.id, [cancelFirst ? 'canceled' : 'completed']);
    runs[name] = raced.id;
  }
  // The context in the input (an idle session at create), and a second run of a session queued behind the
  // first: beginRun finds the turn taken, the run waits for the session's signal, then beginRun again.
  llm.reply({ text: 'Hello.' });
  runs['plain-answer-context-in-input'] = (await call('POST', '/v1/runs', { agent: 'a', input: 'hello', wait: true })).id;
  tools.route('/held', { delay_ms: 1500, body: { ok: true } });
  await call('POST', '/v1/tools', { name: 'held', effect: 'read', input_schema: schema, executor: { type: 'http', url: `${tools.url}/held` } });
  await call('POST', '/v1/agents', { name: 'holder', model: { card: 'fake' }, tools: ['held'] });
  const turnSession = await call('POST', '/v1/sessions', { agent: 'holder' });
  llm.reply({ tool_calls: [{ name: 'held', arguments: { city: 'A' } }] }, { text: 'First.' }, { text: 'Second.' });
  const firstOfSession = await call('POST', `/v1/sessions/${turnSession.id}/runs`, { input: 'first' });
  const queued = await call('POST', `/v1/sessions/${turnSession.id}/runs`, { input: 'second', if_busy: 'enqueue' });
  await until(firstOfSession.id, ['completed']);
  await until(queued.id, ['completed']);
  runs['queued-behind-session-run'] = queued.id;
  await call('POST', '/v1/agents', { name: 'ruled', model: { card: 'fake' }, tools: ['weather'], policy: { rules: [{ id: 'no-x', match: { tool: 'weather', arguments: { city: { matches: '^X' } } }, action: 'deny' }] } });
  llm.reply({ tool_calls: [{ name: 'weather', arguments: { city: 'Xanadu' } }] }, { tool_calls: [{ name: 'weather', arguments: { city: 'B' } }] }, { text: 'Mild.' });
  runs['policy-matches-current-patches'] = (await call('POST', '/v1/runs', { agent: 'ruled', input: 'two steps', wait: true })).id;
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

  // With 'early-decisions-kept-v1' (an action asks it through patched(), so it leaves its own marker; a run
  // under 'run-patches-current-v1' does not): a decision that reaches the workflow before its approval is
  // requested is kept and applied then. On a run, a replaying worker meets it when the decision and the
  // model's answer come in one activation (docs/reliability.md); here the decision, with the API's proof,
  // is signaled while the tool's preview runs, so the action needs no later decision to complete.
  {
    tools.route('/previewed', { delay_ms: 3000, body: (req: ToolRequest) => (req.headers['x-dry-run'] ? { would_file: 'early' } : { ticket: 'T-2' }) });
    await call('POST', '/v1/tools', { name: 'previewed_ticket', effect: 'write', supports_dry_run: true, input_schema: { type: 'object', properties: { title: { type: 'string' } } }, executor: { type: 'http', url: `${tools.url}/previewed` } });
    const early = await call('POST', '/v1/action_invocations', { tool: 'previewed_ticket', arguments: { title: 'early' }, wait: false });
    for (; !tools.requests.some((r) => r.path === '/previewed' && r.headers['x-dry-run']); await new Promise((x) => setTimeout(x, 50)));
    const db = new pg.Client({ connectionString: e.databaseUrl });
    await db.connect();
    const row = (await db.query<{ workflow_id: string; tool_call_id: string }>('SELECT workflow_id, tool_call_id FROM action_invocations WHERE id = $1', [early.id])).rows[0]!;
    await db.end();
    // The approval's id as the tool gate derives it from the tool call's (workflows/prepare-step.ts).
    const decision: ApprovalDecision = { approval_id: `apr_${row.tool_call_id.replace(/^tc_/, '')}`, decision: 'approve', decided_by: { key_id: approverKey.id, name: 'approver' } };
    decision.proof = signDecision({ masterKey: e.masterKey, previousMasterKeys: [], dataDir: '' }, row.workflow_id, decision);
    const connection = await Connection.connect({ address: e.temporalAddress });
    const codec = new EncryptionCodec([Buffer.from(e.masterKey, 'base64')]);
    const handle = new Client({ connection, namespace: e.namespace, dataConverter: dataConverter([Buffer.from(e.masterKey, 'base64')]) }).workflow.getHandle(row.workflow_id);
    await handle.signal('approvalDecision', decision);
    await until(early.id, ['completed'], 'action_invocations');
    // Only a decision that came before its approval leaves the marker: a slow signal would record another path.
    const markers = (await decodeAllPayloads(await handle.fetchHistory(), codec)).events?.flatMap((ev) =>
      ev.markerRecordedEventAttributes?.markerName === 'core_patch' ? [JSON.parse(Buffer.from(ev.markerRecordedEventAttributes.details!['patch-data']!.payloads![0]!.data!).toString('utf8')).id as string] : [],
    );
    if (!markers?.includes('early-decisions-kept-v1')) throw new Error(`the decision did not arrive before its approval (markers: ${markers?.join(', ')})`);
    await connection.close();
    runs['action-invocation-early-decision-kept'] = row.workflow_id;
  }

  // With 'skill-loaded-event-v1': a load_skill call followed by skill.loaded.
  const form = new FormData();
  form.append('id', 'guide');
  form.append('display_title', 'Guide');
  form.append('description', 'How to answer');
  form.append('files', new Blob(['Answer briefly.\n'], { type: 'text/markdown' }), 'SKILL.md');
  await fetch(`${e.apiUrl}/v1/skills`, { method: 'POST', headers: { authorization: `Bearer ${ws.admin_key}` }, body: form });
  await call('POST', '/v1/agents', { name: 'skilled', model: { card: 'fake' }, skills: ['guide'] });
  llm.reply({ tool_calls: [{ name: 'load_skill', arguments: { skill: 'guide' } }] }, { text: 'Brief.' });
  const skilled = await call('POST', '/v1/runs', { agent: 'skilled', input: 'skill', wait: true });
  await until(skilled.id, ['completed']);
  runs['skill-loaded'] = skilled.id;

  // The eval workflow (API.md 10), and with 'eval-dry-run-v1' a dry-run case whose write tool is not executed.
  await call('POST', '/v1/eval_sets', { name: 'golden', cases: [{ id: 'c1', input: 'file a ticket', expect: { tool_calls: [{ name: 'ticket' }] } }] });
  llm.reply({ tool_calls: [{ name: 'ticket', arguments: { title: 'dry' } }] }, { text: 'Filed (dry run).' });
  const ev = await call('POST', '/v1/evals', { eval_set: 'golden', agent: 'a', concurrency: 1 });
  await until(ev.id, ['completed'], 'evals');
  runs['eval-workflow'] = ev.id;
  // A case's run is created with an idempotency key, so its workflow id is not its run id.
  const caseRun = (await call('GET', `/v1/evals/${ev.id}`)).results[0].run_id as string;
  const db = new pg.Client({ connectionString: e.databaseUrl });
  await db.connect();
  runs['eval-dry-run-write-tool'] = (await db.query<{ workflow_id: string }>('SELECT workflow_id FROM runs WHERE id = $1', [caseRun])).rows[0]!.workflow_id;
  await db.end();

  // With 'eval-cancel-v1': an eval canceled while its case waits on a slow model; the eval ends canceled.
  await call('POST', '/v1/eval_sets', { name: 'to-cancel', cases: [{ id: 'slow', input: 'take your time', expect: {} }] });
  llm.reply({ text: 'late', delay_ms: 20_000 });
  const doomed = await call('POST', '/v1/evals', { eval_set: 'to-cancel', agent: 'a', concurrency: 1 });
  for (let r: Record<string, any> = {}; !r.results?.[0]?.run_id; await new Promise((x) => setTimeout(x, 100))) r = await call('GET', `/v1/evals/${doomed.id}`);
  await new Promise((x) => setTimeout(x, 1000));
  await call('POST', `/v1/evals/${doomed.id}/cancel`, {});
  await until(doomed.id, ['canceled'], 'evals');
  runs['eval-canceled'] = doomed.id;

  // With 'oauth-connections-v1': a tool acting for the session's user waits in waiting_auth until the
  // user completes the authorization flow (a local OAuth server consents at once).
  const idp = await startOAuthServer();
  await call('POST', '/v1/connections', { id: 'crm', authorize_url: `${idp.url}/authorize`, token_url: `${idp.url}/token`, client_id: idp.clientId, client_secret: idp.clientSecret });
  await call('POST', '/v1/tools', { name: 'crm_lookup', effect: 'read', input_schema: schema, executor: { type: 'http', url: `${tools.url}/w` }, auth: { connection: 'crm' } });
  await call('POST', '/v1/agents', { name: 'connected', model: { card: 'fake' }, tools: ['crm_lookup'] });
  const userSession = await call('POST', '/v1/sessions', { agent: 'connected', user_reference: 'recorder' });
  llm.reply({ tool_calls: [{ name: 'crm_lookup', arguments: { city: 'A' } }] }, { text: 'Found it.' });
  const authRun = await call('POST', `/v1/sessions/${userSession.id}/runs`, { input: 'look it up', wait: true });
  const required = (await call('GET', `/v1/runs/${authRun.id}/events`)).data.find((ev: { type: string }) => ev.type === 'auth.required');
  // As the user's browser goes through it (issue 17 item 11): the run's creator asks for the one-time link,
  // opening it sets the flow's cookie, the provider consents, the callback checks the cookie.
  const link = await call('POST', new URL(required.data.authorization_url).pathname, {});
  const opened = await fetch(link.authorization_url, { redirect: 'manual' });
  const cookie = opened.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const consent = await fetch(opened.headers.get('location')!, { redirect: 'manual' });
  await fetch(consent.headers.get('location')!, { headers: { cookie } });
  await until(authRun.id, ['completed']);
  runs['oauth-authorization-completed'] = authRun.id;
  await idp.close();
  await finish();
}

/** Writes the runs' histories that test/histories/ does not have yet. */
async function save(e: TestEnv, runs: Record<string, string>): Promise<void> {
  const connection = await Connection.connect({ address: e.temporalAddress });
  const temporal = new Client({ connection, namespace: e.namespace });
  fs.mkdirSync(OUT, { recursive: true });
  for (const [name, id] of Object.entries(runs)) {
    // Histories already in the repository are kept: they prove that older runs still replay.
    if (fs.existsSync(path.join(OUT, `${name}.json`))) continue;
    // Closed first (a canceled eval's status is stored a moment before its workflow ends).
    await temporal.workflow.getHandle(id).result().catch(() => undefined);
    // Stored decoded: the repository's histories must not depend on this recording's throwaway key.
    const history = await decodeAllPayloads(await temporal.workflow.getHandle(id).fetchHistory(), new EncryptionCodec([Buffer.from(e.masterKey, 'base64')]));
    fs.writeFileSync(path.join(OUT, `${name}.json`), `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 1)}\n`);
    process.stdout.write(`recorded ${name} (${id})\n`);
  }
  await connection.close();
}

main().catch((err) => {
  process.stderr.write(`${String(err?.stack ?? err)}\n`);
  process.exit(1);
});
