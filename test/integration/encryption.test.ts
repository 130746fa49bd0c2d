// Payload encryption: the Temporal server stores no plaintext prompt, tool argument or tool result;
// auditors read them decoded through the API and the codec endpoint; a rotated key still decrypts.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/temporal/dev-server';
import { startToolServer } from '../fixtures/tool-server';
import { spawnAp, type ApProcess } from '../support/processes';
import { historiesContaining } from '../support/canaries';
import { Api, env, expectError, httpTool, setupAgent, waitForStatus } from '../support/api';

const cleanups: (() => Promise<void>)[] = [];
const procs: ApProcess[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill('SIGKILL');
  for (const c of cleanups.splice(0)) await c();
});

const temporalShow = (workflowId: string) =>
  new Promise<string>((resolve, reject) => {
    execFile(env().temporalCli, ['workflow', 'show', '--workflow-id', workflowId, '--address', env().temporalAddress, '--output', 'json'], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    );
  });

/** The text of every payload in a history as JSON (payload data is base64 in proto JSON). */
function payloadTexts(history: unknown): string {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.data === 'string' && o.metadata && typeof o.metadata === 'object') out.push(Buffer.from(o.data, 'base64').toString('utf8'));
      else Object.values(o).forEach(walk);
    }
  };
  walk(history);
  return out.join('\n');
}

function fileContains(file: string, needle: string): boolean {
  return [file, `${file}-wal`].some((f) => fs.existsSync(f) && fs.readFileSync(f).includes(Buffer.from(needle)));
}

async function canaryRun() {
  const tools = await startToolServer();
  const s = await setupAgent();
  cleanups.push(() => s.llm.close(), () => tools.close());
  const canary = `PLAINTEXT-CANARY-${crypto.randomBytes(6).toString('hex')}`;
  tools.route('/lookup', { body: { found: `${canary}-result` } });
  await httpTool(s.api, 'lookup', `${tools.url}/lookup`);
  await s.api.patch('/v1/agents/assistant', { tools: ['lookup'] });
  s.llm.reply({ tool_calls: [{ name: 'lookup', arguments: { city: `${canary}-args` } }] }, { text: `${canary}-answer` });
  const run = (await s.api.post('/v1/runs', { agent: 'assistant', input: `${canary}-prompt`, wait: true })).body;
  expect(run.status).toBe('completed');
  return { ...s, run, canary };
}

describe('payload encryption', () => {
  it('the Temporal server stores no plaintext; the history endpoint and the codec show it decoded', async () => {
    const { api, run, canary } = await canaryRun();
    expect(fileContains(env().temporalDb, canary)).toBe(false);
    expect(fs.existsSync(env().temporalDb)).toBe(true);
    const raw = await temporalShow(run.id);
    expect(raw).toContain(Buffer.from('binary/encrypted').toString('base64'));
    expect(raw).not.toContain(canary);
    expect(payloadTexts(JSON.parse(raw))).not.toContain(canary);
    expect(await historiesContaining(env(), canary, [run.id], false)).toEqual([]);

    const history = payloadTexts((await api.get(`/v1/runs/${run.id}/history`)).body);
    for (const part of ['prompt', 'args', 'result', 'answer']) expect(history.includes(`${canary}-${part}`), part).toBe(true);
    expect(await historiesContaining(env(), `${canary}-args`, [run.id])).toEqual([`history of ${run.id}`]);

    // The codec endpoint decodes what the server stores, for admin and auditor keys only.
    const events = (JSON.parse(raw) as { events: Record<string, any>[] }).events;
    const started = events.find((e) => e.workflowExecutionStartedEventAttributes)!.workflowExecutionStartedEventAttributes.input.payloads;
    const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'executeTool')[0]!.activityTaskScheduledEventAttributes.input.payloads;
    const decode = (key: string) =>
      fetch(`${env().apiUrl}/codec/decode`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ payloads: [...started, ...scheduled] }) });
    const decoded = (await (await decode(env().adminKey)).json()) as { payloads: { data: string }[] };
    expect(Buffer.from(decoded.payloads[0]!.data, 'base64').toString()).toContain(run.id);
    expect(Buffer.from(decoded.payloads[1]!.data, 'base64').toString()).toContain(`${canary}-args`);
    // A tenant's admin key (not the operator's) is refused: one key encrypts every tenant's payloads.
    const denied = await decode(api.key);
    expectError({ status: denied.status, body: await denied.json(), headers: denied.headers }, 403, 'permission_error', 'permission_denied');
  });

  it('after a key rotation, runs recorded under the old key still decode and replay', async () => {
    const { api, llm, run, canary } = await canaryRun();
    const e = env();
    const newKey = crypto.randomBytes(32).toString('base64');
    const port = await freePort();
    const queue = `ap-rotation-${crypto.randomUUID()}`;
    const base = { DATABASE_URL: e.databaseUrl, TEMPORAL_ADDRESS: e.temporalAddress, TEMPORAL_TASK_QUEUE: queue, AP_MASTER_KEY: newKey, AP_PREVIOUS_MASTER_KEYS: e.masterKey, AP_ALLOW_PRIVATE_NETWORK: 'true', LOG_LEVEL: 'debug' };
    const rotatedApi = spawnAp(['api'], { ...base, AP_PORT: String(port) }, path.join(e.logDir, 'rotated-api.log'));
    const rotatedWorker = spawnAp(['worker'], base, path.join(e.logDir, 'rotated-worker.log'));
    procs.push(rotatedApi, rotatedWorker);
    await Promise.all([rotatedApi.ready, rotatedWorker.ready]);
    const client = new Api(api.key, `http://127.0.0.1:${port}`);
    const history = await client.get(`/v1/runs/${run.id}/history`);
    expect(history.status).toBe(200);
    expect(payloadTexts(history.body).includes(`${canary}-prompt`)).toBe(true);
    const dir = fs.mkdtempSync(path.join(e.runDir, 'rot-'));
    const replay = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile(process.execPath, [path.resolve(__dirname, '../../bin/ap.js'), 'replay', run.id], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', AP_URL: client.base, AP_API_KEY: api.key, AP_DATA_DIR: dir } }, (err, out) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out }),
      );
    });
    expect(replay.out).toContain(`${run.id}\tok`);
    expect(replay.code).toBe(0);
    // The model-card key, encrypted at rest under the old key, still works: a run under the new key completes.
    llm.reply({ text: 'under the new key' });
    const fresh = (await client.post('/v1/runs', { agent: 'assistant', input: 'hi', wait: true })).body;
    expect((await waitForStatus(client, fresh.id, ['completed'])).output_text).toBe('under the new key');
  });
});
