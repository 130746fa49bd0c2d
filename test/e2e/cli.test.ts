// The `ap` CLI as a user runs it: local key creation and the client commands against the API.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startToolServer } from '../fixtures/tool-server';
import { canary } from '../support/canaries';
import { allEvents, Api, env, newWorkspace, setupAgent, waitFor, waitForStatus, type AgentSetup } from '../support/api';

const ROOT = path.resolve(__dirname, '../..');

interface ApResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** Starts `ap` and lets the test read its output while it runs (a watch, say). */
function apLive(args: string[], extra: Record<string, string> = {}, stdin = '') {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/ap.js'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATABASE_URL: env().databaseUrl, AP_URL: env().apiUrl, ...extra },
  });
  // Written and closed at once: a command that reads stdin sees it end.
  child.stdin.end(stdin);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => void (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
  const timer = setTimeout(() => child.kill(), 60_000);
  const done = new Promise<ApResult>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code, stdout, stderr });
    }),
  );
  cleanups.push(() => child.kill());
  return { stdout: () => stdout, stderr: () => stderr, done };
}

// Asynchronous on purpose: the fake provider lives in this process and must keep answering.
const ap = (args: string[], extra: Record<string, string> = {}, stdin?: string): Promise<ApResult> => apLive(args, extra, stdin).done;

interface Governed extends AgentSetup {
  /** AP_API_KEY of the run's creator (the workspace admin) and of a separate approver. */
  asCreator: Record<string, string>;
  asApprover: Record<string, string>;
  approver: Api;
}

/** An agent with a write tool that needs approval (the default policy), and an approver key. */
async function governed(): Promise<Governed> {
  const tools = await startToolServer();
  const s = await setupAgent();
  cleanups.push(() => s.llm.close(), () => tools.close());
  tools.route('/tickets', { body: { ticket: 'T-1' } });
  const tool = await s.api.post('/v1/tools', {
    name: 'create_ticket',
    effect: 'write',
    input_schema: { type: 'object', properties: { title: { type: 'string' }, priority: { enum: ['low', 'high'] } }, required: ['title'] },
    executor: { type: 'http', url: `${tools.url}/tickets` },
  });
  expect(tool.status).toBe(201);
  expect((await s.api.patch('/v1/agents/assistant', { tools: ['create_ticket'] })).status).toBe(200);
  const key = (await s.api.post('/v1/api_keys', { name: 'approver', roles: ['approver'] })).body.key as string;
  return { ...s, asCreator: { AP_API_KEY: s.api.key }, asApprover: { AP_API_KEY: key }, approver: new Api(key) };
}

const TICKET = { name: 'create_ticket', arguments: { title: 'Printer on fire', priority: 'high' } };

/** `ap runs create --wait --json` of a run that stops at the approval of create_ticket. */
async function parkedRun(g: Governed, after = 'Ticket T-1 filed.') {
  g.llm.reply({ text: 'Creating it.', tool_calls: [TICKET] }, { text: after });
  const created = await ap(['runs', 'create', '--agent', 'assistant', '--wait', '--json', 'file a ticket'], g.asCreator);
  expect(created.status).toBe(3);
  const run = JSON.parse(created.stdout);
  expect(run).toMatchObject({ object: 'run', status: 'waiting_approval', pending_approvals: [{ tool_call: TICKET }] });
  return { run, created, approvalId: run.pending_approvals[0].id as string };
}

const jsonLines = (stdout: string) =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { seq?: number; type: string; object: string });

// Each test runs several `ap` processes (node + tsx, seconds each on a loaded 2-core machine).
describe('ap CLI', { timeout: 150_000 }, () => {
  it('ap keys create prints a working key once, with the given role', async () => {
    const res = await ap(['keys', 'create', '--name', 'ci-bot', '--role', 'auditor']);
    expect(res.status).toBe(0);
    const key = res.stdout.trim().split('\n').pop()!;
    expect(key).toMatch(/^ap_/);
    const api = new Api(key);
    expect((await api.get('/v1/runs')).status).toBe(200);
    expect((await api.post('/v1/sessions', { agent: 'x' })).status).toBe(403);
  });

  it('ap keys create rejects an unknown role', async () => {
    const res = await ap(['keys', 'create', '--name', 'x', '--role', 'root']);
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('Unknown role root');
  });

  it('API errors and a missing key are one clear line on stderr and exit 1', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    const missing = await ap(['runs', 'get', 'run_0000']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^Error: AP_API_KEY is not set\. Export an API key/);
    const notFound = await ap(['runs', 'get', 'run_0000'], { AP_API_KEY: api.key });
    expect(notFound.status).toBe(1);
    expect(notFound.stderr).toMatch(/^Error: 404 not_found: .+\n$/);
    const unknownAgent = await ap(['runs', 'create', '--agent', 'nobody', 'hi'], { AP_API_KEY: api.key });
    expect(unknownAgent.status).toBe(1);
    expect(unknownAgent.stderr).toMatch(/^Error: 404 not_found: /);
    expect(unknownAgent.stdout).toBe('');
  });

  it('create, list and get print tables for people and the API JSON with --json', async () => {
    const { api, llm, agent } = await setupAgent();
    cleanups.push(() => llm.close());
    const as = { AP_API_KEY: api.key };
    llm.reply({ text: 'Hello from the CLI.' });
    const created = await ap(['runs', 'create', '--agent', 'assistant', '--wait', '--json', 'hi'], as);
    expect(created.status).toBe(0);
    const run = JSON.parse(created.stdout);
    expect(run).toMatchObject({ object: 'run', status: 'completed', agent_id: agent.id, output_text: 'Hello from the CLI.', usage: { model_calls: 1 } });
    // Progress went to stderr, so stdout stayed one JSON document.
    expect(created.stderr).toContain(`${run.id}: completed`);

    // Reads of one finished run: independent, so they run side by side.
    const [listed, table, none, got, shown, watched] = await Promise.all([
      ap(['runs', 'list', '--agent', 'assistant', '--status', 'completed', '--limit', '5', '--json'], as),
      ap(['runs', 'list'], as),
      ap(['runs', 'list', '--status', 'failed'], as),
      ap(['runs', 'get', run.id, '--json'], as),
      ap(['runs', 'get', run.id], as),
      ap(['runs', 'watch', run.id], as),
    ]);
    expect(listed.status).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject({ object: 'list', has_more: false, next_cursor: null, data: [{ id: run.id, status: 'completed' }] });
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+STATUS\s+AGENT\s+CREATED\s+OUTPUT \/ ERROR$/);
    expect(table.stdout).toMatch(new RegExp(`${run.id}\\s+completed\\s+${agent.id}\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ\\s+Hello from the CLI\\.`));
    expect(none.stdout).toBe('No runs.\n');
    expect(JSON.parse(got.stdout)).toMatchObject({ id: run.id, object: 'run', status: 'completed', output_text: 'Hello from the CLI.', error: null });
    expect(shown.stdout).toMatch(/^id\s+run_/);
    expect(shown.stdout).toMatch(/usage\s+11 input \+ 7 output tokens, 1 model call, 0 tool calls, 1 step/);
    expect(shown.stdout).toContain('\nHello from the CLI.\n');
    expect(watched.status).toBe(0);
    expect(watched.stdout).toContain('Hello from the CLI.\n');
    expect(watched.stdout).toMatch(/\[run\.completed\] usage: 11 input \+ 7 output tokens/);
  });

  it('a run created with ap is watched through an approval given by a second ap process with another key', async () => {
    const g = await governed();
    g.llm.reply({ text: 'Creating it.', tool_calls: [TICKET] }, { text: 'Ticket T-1 filed.' });
    const created = await ap(['runs', 'create', '--agent', 'assistant', 'file a ticket'], g.asCreator);
    expect(created.status).toBe(0);
    const runId = created.stdout.match(/^(run_\w+) (queued|running)\n/)![1]!;

    const watch = apLive(['runs', 'watch', runId], g.asCreator);
    const approvalId = await waitFor(async () => watch.stdout().match(/\[approval\.requested\] (apr_\w+): create_ticket /)?.[1], 'the watch to show the approval request');

    const listed = await ap(['approvals', 'list'], g.asApprover);
    expect(listed.stdout.split('\n')[0]).toMatch(/^ID\s+RUN\s+TOOL\s+ARGUMENTS\s+RULE\s+REASON\s+REQUESTED$/);
    expect(listed.stdout).toMatch(new RegExp(`${approvalId}\\s+${runId}\\s+create_ticket\\s+\\{"title":"Printer on fire",\\S*…\\s+default_write\\s+`));

    const selfApproval = await ap(['approvals', 'approve', approvalId], g.asCreator);
    expect(selfApproval.status).toBe(1);
    expect(selfApproval.stderr).toMatch(/^Error: 403 self_approval_forbidden: /);

    const approved = await ap(['approvals', 'approve', approvalId, '--comment', 'go ahead'], g.asApprover);
    expect(approved).toMatchObject({ status: 0, stdout: `${approvalId} approved (run ${runId}, create_ticket)\n` });

    const done = await watch.done;
    expect(done.status).toBe(0);
    expect(done.stdout).toContain('[tool_call.requested] create_ticket {"title":"Printer on fire","priority":"high"} (tc_');
    expect(done.stdout).toContain('[policy.decided] create_ticket: require_approval (rule default_write');
    expect(done.stdout).toContain(`[approval.decided] ${approvalId}: approved by approver (comment: go ahead)`);
    expect(done.stdout).toContain('[tool_call.completed] create_ticket → {"ticket":"T-1"}');
    expect(done.stdout).toContain('Ticket T-1 filed.\n');
    expect(done.stdout).toMatch(/\[run\.completed\] usage: 22 input \+ 14 output tokens, 2 model calls, 1 tool call, 2 steps\n$/);
    const order = ['[approval.requested]', '[approval.decided]', '[tool_call.started]', '[tool_call.completed]', '[run.completed]'].map((t) => done.stdout.indexOf(t));
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('watch --until-paused exits 3 at an approval; deny needs --reason; approvals list --json has the documented fields', async () => {
    const g = await governed();
    const { run, created, approvalId } = await parkedRun(g, 'Understood, no ticket.');
    expect(created.stderr).toContain(`${run.id}: waiting_approval, step 1, waiting for approval`);

    const paused = await ap(['runs', 'watch', run.id, '--until-paused'], g.asCreator);
    expect(paused.status).toBe(3);
    expect(paused.stdout).toContain(`[approval.requested] ${approvalId}: create_ticket`);
    expect(paused.stdout).toMatch(new RegExp(`\\[paused\\] ${run.id} is waiting_approval\\n$`));

    const listed = await ap(['approvals', 'list', '--run', run.id, '--json'], g.asApprover);
    expect(listed.status).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject({
      object: 'list',
      data: [{ id: approvalId, object: 'approval', run_id: run.id, status: 'pending', effect: 'write', policy_rule_id: 'default_write', tool_call: TICKET, requested_at: expect.any(String) }],
    });

    const [noReason, emptyReason] = await Promise.all([ap(['approvals', 'deny', approvalId], g.asApprover), ap(['approvals', 'deny', approvalId, '--reason', ' '], g.asApprover)]);
    expect(noReason.status).toBe(1);
    expect(noReason.stderr).toContain("required option '--reason <text>' not specified");
    expect(emptyReason).toMatchObject({ status: 1, stderr: expect.stringContaining('--reason must not be empty') });
    expect((await g.approver.get(`/v1/approvals/${approvalId}`)).body.status).toBe('pending');

    const denied = await ap(['approvals', 'deny', approvalId, '--reason', 'Not during the freeze', '--json'], g.asApprover);
    expect(denied.status).toBe(0);
    expect(JSON.parse(denied.stdout)).toMatchObject({ id: approvalId, status: 'denied' });
    const watched = await ap(['runs', 'watch', run.id, '--until-paused'], g.asCreator);
    expect(watched.status).toBe(0);
    expect(watched.stdout).toContain(`[approval.decided] ${approvalId}: denied by approver (reason: Not during the freeze)`);
    expect(watched.stdout).toContain('Understood, no ticket.\n');
    const [pending, all] = await Promise.all([ap(['approvals', 'list', '--run', run.id], g.asApprover), ap(['approvals', 'list', '--run', run.id, '--status', 'all'], g.asApprover)]);
    expect(pending.stdout).toBe('No pending approvals.\n');
    expect(all.stdout).toMatch(new RegExp(`${approvalId}\\s+denied\\s+${run.id}`));
  });

  it('ap runs cancel ends a watch with exit code 2; a second cancel is a 409', async () => {
    const g = await governed();
    const { run } = await parkedRun(g);
    const watch = apLive(['runs', 'watch', run.id], g.asCreator);
    await waitFor(async () => watch.stdout().includes('[approval.requested]'), 'the watch to replay the approval request');
    const canceled = await ap(['runs', 'cancel', run.id, '--reason', 'not needed'], g.asCreator);
    expect(canceled.status).toBe(0);
    expect(canceled.stdout).toContain(`${run.id}: cancel requested`);
    const done = await watch.done;
    expect(done.status).toBe(2);
    expect(done.stdout).toMatch(/\[run\.canceled\] usage: .+\n$/);
    expect((await ap(['runs', 'get', run.id], g.asCreator)).stdout).toMatch(/^status\s+canceled$[\s\S]*^cancel_reason\s+not needed$/m);
    const again = await ap(['runs', 'cancel', run.id], g.asCreator);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/^Error: 409 run_not_active: /);
  });

  it('a watch resumes after a dropped connection: every stored event printed once, in order', async () => {
    const g = await governed();
    const proxy = await droppingProxy(env().apiUrl, 3);
    cleanups.push(() => proxy.close());
    g.llm.reply({ text: 'Creating it.', tool_calls: [TICKET] }, { text: 'Ticket T-1 filed.' });
    const run = (await g.api.post('/v1/runs', { agent: 'assistant', input: 'file a ticket' })).body;
    const watch = apLive(['runs', 'watch', run.id, '--json'], { ...g.asCreator, AP_URL: proxy.url });
    const waiting = await waitForStatus(g.api, run.id, ['waiting_approval']);
    await waitFor(async () => proxy.sseRequests.length >= 2, 'the watch to reconnect');
    expect((await g.approver.post(`/v1/approvals/${waiting.pending_approvals[0].id}/approve`, {})).status).toBe(200);

    const done = await watch.done;
    expect(done.status).toBe(0);
    expect(done.stderr).toContain('Event stream interrupted');
    expect(done.stderr).toContain('resuming after event 2');
    expect(proxy.sseRequests[1]).toMatch(/\r\nlast-event-id: 2\r\n/i);
    const stored = jsonLines(done.stdout).filter((e) => e.object === 'run.event');
    const expected = await allEvents(g.api, run.id);
    expect(stored.map((e) => e.seq)).toEqual(expected.map((_, i) => i + 1));
    expect(stored.map((e) => e.type)).toEqual(expected.map((e) => e.type));
    expect(stored.at(-1)!.type).toBe('run.completed');
  });
});

describe('ap agents and ap sessions', { timeout: 150_000 }, () => {
  it('ap agents export > file, then ap agents import file --dry-run and for real into another workspace', async () => {
    const g = await governed();
    expect((await g.api.post('/v1/vault', { name: 'tickets_token', value: canary('cli-vault') })).status).toBe(201);
    expect((await g.api.patch('/v1/tools/create_ticket', { executor: { type: 'http', url: 'https://tickets.example.com/api', headers: { Authorization: 'Bearer {{vault.tickets_token}}' } } })).status).toBe(200);
    const exported = await ap(['agents', 'export', 'assistant'], g.asCreator);
    expect(exported.status).toBe(0);
    expect(JSON.parse(exported.stdout)).toMatchObject({ object: 'agent_bundle', format: 1, agent: { name: 'assistant', version: 2 }, model_cards: ['fake'], vault: ['tickets_token'] });
    const file = `${env().runDir}/agent-${Date.now()}.json`;
    fs.writeFileSync(file, exported.stdout);

    const dst = await newWorkspace('cli-import');
    const as = { AP_API_KEY: dst.key };
    const missing = await ap(['agents', 'import', file, '--dry-run'], as);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^Error: 400 import_missing_dependencies: .*model cards: fake; vault: tickets_token/);
    expect((await dst.post('/v1/model_cards', { id: 'fake', provider: 'openai', base_url: g.llm.baseUrl, api_key: canary('cli-dst'), default_model: 'fake-model' })).status).toBe(201);
    expect((await dst.post('/v1/vault', { name: 'tickets_token', value: canary('cli-dst-vault') })).status).toBe(201);

    const dry = await ap(['agents', 'import', file, '--dry-run'], as);
    expect(dry.status).toBe(0);
    expect(dry.stdout).toMatch(/^ACTION\s+KIND\s+NAME\n/);
    expect(dry.stdout).toMatch(/^create\s+tool\s+create_ticket$/m);
    expect(dry.stdout).toMatch(/^create\s+agent\s+assistant\s+version 1$/m);
    expect(dry.stdout).toMatch(/Dry run: nothing was stored\.\n$/);
    expect((await dst.get('/v1/agents')).body.data).toEqual([]);

    const applied = await ap(['agents', 'import', file, '--json'], as);
    expect(applied.status).toBe(0);
    expect(JSON.parse(applied.stdout)).toEqual({
      object: 'import',
      applied: true,
      changes: [
        { kind: 'tool', name: 'create_ticket', action: 'create' },
        { kind: 'agent', name: 'assistant', action: 'create', version: 1 },
      ],
    });
    const [again, fromStdin, emptyStdin, unreadable] = await Promise.all([
      ap(['agents', 'import', file], as),
      ap(['agents', 'import', '-', '--dry-run', '--json'], as, exported.stdout),
      ap(['agents', 'import', '-'], as),
      ap(['agents', 'import', '/nonexistent/agent.json'], as),
    ]);
    expect(again.stdout).toMatch(/^unchanged\s+tool\s+create_ticket$/m);
    expect(again.stdout).toMatch(/^unchanged\s+agent\s+assistant\s+version 1$/m);
    expect(again.stdout).toMatch(/Imported\.\n$/);
    expect(JSON.parse(fromStdin.stdout)).toMatchObject({ applied: false, changes: [{ action: 'unchanged' }, { action: 'unchanged' }] });
    expect(emptyStdin).toMatchObject({ status: 1, stderr: expect.stringMatching(/^Error: - is not valid JSON/) });
    expect(unreadable).toMatchObject({ status: 1, stderr: expect.stringMatching(/^Error: Cannot read \/nonexistent\/agent\.json/) });

    const agent = (await dst.get('/v1/agents/assistant')).body;
    const [listed, table, got, shown, old] = await Promise.all([
      ap(['agents', 'list', '--json'], as),
      ap(['agents', 'list'], as),
      ap(['agents', 'get', 'assistant', '--json'], as),
      ap(['agents', 'get', agent.id], as),
      ap(['agents', 'get', 'assistant', '--version', '9'], as),
    ]);
    expect(JSON.parse(listed.stdout)).toMatchObject({ object: 'list', has_more: false, data: [{ id: agent.id, name: 'assistant', version: 1 }] });
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+VERSION\s+MODEL\s+TOOLS\s+ENABLED\s+UPDATED$/);
    expect(table.stdout).toMatch(new RegExp(`^${agent.id}\\s+assistant\\s+1\\s+fake\\s+create_ticket\\s+yes\\s+\\d{4}-`, 'm'));
    expect(JSON.parse(got.stdout)).toEqual(agent);
    expect(shown.stdout).toMatch(/^name\s+assistant$/m);
    expect(shown.stdout).toMatch(/^tools\s+create_ticket$/m);
    expect(shown.stdout).toContain('\nYou are a test assistant.\n');
    expect(old).toMatchObject({ status: 1, stderr: expect.stringMatching(/^Error: 404 not_found: /) });
  });

  it('ap usage prints GET /v1/usage as a table with a total line, and the API object with --json', async () => {
    const { api, llm } = await setupAgent({ pricing: true });
    cleanups.push(() => llm.close());
    llm.reply({ text: 'one', usage: { input_tokens: 1200, output_tokens: 300 } }, { text: 'two', usage: { input_tokens: 800, output_tokens: 200 } });
    for (const input of ['a', 'b']) expect((await api.post('/v1/runs', { agent: 'assistant', input, wait: true })).body.status).toBe('completed');
    const as = { AP_API_KEY: api.key };
    const day = new Date().toISOString().slice(0, 10);
    const [json, byAgent, byDay, bad] = await Promise.all([
      ap(['usage', '--group-by', 'agent', '--from', day, '--to', day, '--json'], as),
      ap(['usage', '--group-by', 'agent'], as),
      ap(['usage', '--from', day, '--to', day], as),
      ap(['usage', '--group-by', 'week'], as),
    ]);
    expect(JSON.parse(json.stdout)).toEqual((await api.get(`/v1/usage?group_by=agent&from=${day}&to=${day}`)).body);
    const lines = byAgent.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^AGENT\s+RUNS\s+FAILED\s+INPUT\s+OUTPUT\s+COST\s+TOOL CALLS\s+APPROVALS$/);
    // $ (1200 + 800) × 1 + (300 + 200) × 2 per million tokens
    expect(lines[1]).toMatch(/^assistant\s+2\s+0 \(0\.0%\)\s+2000\s+500\s+\$0\.0030\s+0\s+0\/0\/0\/0$/);
    expect(lines[2]).toMatch(/^TOTAL\s+2\s+0 \(0\.0%\)\s+2000\s+500\s+\$0\.0030\s+0\s+0\/0\/0\/0$/);
    expect(byAgent.stderr).toMatch(/^Runs created from \d{4}-/);
    expect(byDay.stdout.trimEnd().split('\n').map((l) => l.split(/\s+/).slice(0, 2))).toEqual([['DAY', 'RUNS'], [day, '2'], ['TOTAL', '2']]);
    expect(bad).toMatchObject({ status: 1, stderr: expect.stringMatching(/^Error: 400 validation_failed: /) });
  });

  it('ap sessions list and get show what GET /v1/sessions shows', async () => {
    const { api, llm, agent } = await setupAgent();
    cleanups.push(() => llm.close());
    const as = { AP_API_KEY: api.key };
    const session = (await api.post('/v1/sessions', { agent: 'assistant', title: 'Printer help', user_reference: 'u-42' })).body;
    const [listed, table, filtered, none, got, shown, missing] = await Promise.all([
      ap(['sessions', 'list', '--json'], as),
      ap(['sessions', 'list'], as),
      ap(['sessions', 'list', '--agent', 'assistant', '--user-reference', 'u-42', '--json'], as),
      ap(['sessions', 'list', '--user-reference', 'nobody'], as),
      ap(['sessions', 'get', session.id, '--json'], as),
      ap(['sessions', 'get', session.id], as),
      ap(['sessions', 'get', 'ses_0000'], as),
    ]);
    expect(JSON.parse(listed.stdout)).toEqual((await api.get('/v1/sessions')).body);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+STATUS\s+AGENT\s+TITLE\s+USER\s+CREATED$/);
    expect(table.stdout).toMatch(new RegExp(`^${session.id}\\s+idle\\s+${agent.id} v1\\s+Printer help\\s+u-42\\s+\\d{4}-`, 'm'));
    expect(JSON.parse(filtered.stdout).data.map((s: { id: string }) => s.id)).toEqual([session.id]);
    expect(none.stdout).toBe('No sessions.\n');
    expect(JSON.parse(got.stdout)).toEqual((await api.get(`/v1/sessions/${session.id}`)).body);
    expect(shown.stdout).toMatch(/^title\s+Printer help$/m);
    expect(shown.stdout).toMatch(new RegExp(`^agent\\s+${agent.id} \\(version 1\\)$`, 'm'));
    expect(missing).toMatchObject({ status: 1, stderr: expect.stringMatching(/^Error: 404 not_found: /) });
  });

  it('ap sessions watch follows the session log across runs: --replay prints the earlier run, then the next run live', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    const as = { AP_API_KEY: api.key };
    const session = (await api.post('/v1/sessions', { agent: 'assistant' })).body;
    llm.reply({ text: 'First answer.' }, { text: 'Second answer.' });
    const first = (await api.post(`/v1/sessions/${session.id}/runs`, { input: 'one', wait: true })).body;
    const watch = apLive(['sessions', 'watch', session.id, '--replay'], as);
    const json = apLive(['sessions', 'watch', session.id, '--replay', '--json', '--no-deltas'], as);
    await waitFor(async () => watch.stdout().includes('First answer.'), 'the watch to replay the first run');
    const second = (await api.post(`/v1/sessions/${session.id}/events`, { events: [{ type: 'user.message', content: 'two' }] })).body;
    await waitFor(async () => (watch.stdout().match(/\[run\.completed\]/g) ?? []).length === 2, 'the watch to show the second run end');
    await waitFor(async () => (json.stdout().match(/"run\.completed"/g) ?? []).length === 2, 'the --json watch to show the second run end');
    const lines = watch.stdout().split('\n');
    expect(lines.indexOf(`[run ${first.id}]`)).toBe(0);
    expect(lines.indexOf(`[run ${second.run_id}]`)).toBeGreaterThan(lines.findIndex((l) => l.includes('First answer.')));
    expect(watch.stdout()).toContain('Second answer.');
    // One JSON object per stored event of the log, both runs', in session_seq order.
    const printed = json.stdout().trim().split('\n').map((l) => JSON.parse(l) as { id: string; run_id: string; session_seq: number });
    const log = (await api.get(`/v1/sessions/${session.id}/events?limit=1000`)).body.data as { id: string }[];
    expect(printed.map((e) => e.id)).toEqual(log.map((e) => e.id));
    expect([...new Set(printed.map((e) => e.run_id))]).toEqual([first.id, second.run_id]);
  });
});

/**
 * A TCP proxy to the API that breaks the first event stream once, in the middle of the frame of event
 * `cutAtSeq` (so the client has seen the events before it and half of that one), and then lets
 * every connection through.
 */
async function droppingProxy(target: string, cutAtSeq: number) {
  const { hostname, port } = new URL(target);
  const sseRequests: string[] = [];
  const sockets = new Set<net.Socket>();
  let dropped = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    let isSse = false;
    let seen = '';
    client.on('data', (buf: Buffer) => {
      const text = buf.toString('latin1');
      if (/\r\naccept: text\/event-stream\r\n/i.test(text)) {
        isSse = true;
        sseRequests.push(text);
      }
      upstream.write(buf);
    });
    upstream.on('data', (buf: Buffer) => {
      if (client.writableEnded) return;
      if (!isSse || dropped) return void client.write(buf);
      const before = seen.length;
      seen += buf.toString('latin1');
      const at = seen.indexOf(`id: ${cutAtSeq}\n`);
      if (at < 0) return void client.write(buf);
      dropped = true;
      client.end(buf.subarray(0, Math.max(0, at + 12 - before)), () => upstream.destroy());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    sseRequests,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
