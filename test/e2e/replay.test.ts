// `ap replay` and GET /v1/runs/:id/history: recorded histories replay against this build, a changed
// workflow is reported as diverged, and a write-tool call without approval is found.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Api, env, expectError, setupAgent } from '../support/api';

const ROOT = path.resolve(__dirname, '../..');
const HISTORIES = path.join(ROOT, 'test/histories');
const files = fs.readdirSync(HISTORIES).filter((f) => f.endsWith('.json')).map((f) => path.join(HISTORIES, f));

const ap = (args: string[], extra: Record<string, string> = {}) =>
  new Promise<{ status: number; stdout: string }>((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'bin/ap.js'), 'replay', ...args], { cwd: ROOT, timeout: 120_000, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', AP_URL: env().apiUrl, ...extra } }, (err, stdout) =>
      resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout }),
    );
  });

describe('ap replay', () => {
  it('prints ok for every recorded history and exits 0', async () => {
    const res = await ap(['--file', ...files]);
    expect(res.status).toBe(0);
    for (const f of files) expect(res.stdout).toContain(`${path.basename(f)}\tok`);
  }, 120_000);

  it('reports run histories as diverged against workflow code with an extra timer, and exits 1', async () => {
    const res = await ap(['--workflows', 'test/fixtures/workflows-extra-timer/index.ts', '--file', path.join(HISTORIES, 'plain-answer.json'), path.join(HISTORIES, 'approval-granted.json')]);
    expect(res.status).toBe(1);
    expect(res.stdout).toMatch(/plain-answer\.json\tdiverged\t\[TMPRL1100\] Nondeterminism error: Timer/);
    expect(res.stdout).toMatch(/approval-granted\.json\tdiverged/);
  }, 120_000);

  // The second history stores its events through local activities: the approvals are read from their results;
  // the third runs under one marker for every patch: the decision is stored with tool_call.started, in one local activity.
  it.each(['approval-granted.json', 'approval-granted-local-store.json', 'approval-granted-current-patches.json', 'approval-granted-context-in-input.json'])('finds a write-tool call whose executed arguments were never approved (%s)', async (recorded) => {
    const untouched = await ap(['--file', path.join(HISTORIES, recorded)]);
    expect(untouched.stdout).toContain(`${recorded}\tok`);
    expect(untouched.stdout).not.toContain('unapproved-write');
    const history = JSON.parse(fs.readFileSync(path.join(HISTORIES, recorded), 'utf8')) as { events: Record<string, any>[] };
    const scheduled = history.events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'executeTool');
    const payload = scheduled!.activityTaskScheduledEventAttributes.input.payloads[0];
    const input = JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8'));
    input.tool_call.arguments = { title: 'something nobody approved' };
    payload.data = Buffer.from(JSON.stringify(input)).toString('base64');
    const file = path.join(env().runDir, `tampered-${recorded}`);
    fs.writeFileSync(file, JSON.stringify(history));
    const res = await ap(['--file', file]);
    expect(res.status).toBe(1);
    expect(res.stdout).toContain(`tampered-${recorded}\tunapproved-write\ttool_call=${input.tool_call.id} tool=ticket`);
  }, 120_000);

  it('replays a run by id through GET /v1/runs/:id/history (auditor and admin only)', async () => {
    const { api, llm } = await setupAgent();
    try {
      llm.reply({ text: 'recorded' });
      const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'hi', wait: true })).body;
      const history = await api.get(`/v1/runs/${run.id}/history`);
      expect(history.status).toBe(200);
      expect(history.body.events[0].workflowExecutionStartedEventAttributes.workflowType.name).toBe('runWorkflow');
      const developer = new Api((await api.post('/v1/api_keys', { name: 'dev', roles: ['developer'] })).body.key);
      expectError(await developer.get(`/v1/runs/${run.id}/history`), 403, 'permission_error', 'permission_denied');
      const auditor = (await api.post('/v1/api_keys', { name: 'aud', roles: ['auditor'] })).body.key;
      const res = await ap([run.id], { AP_API_KEY: auditor });
      expect(res.stdout).toContain(`${run.id}\tok`);
      expect(res.status).toBe(0);
    } finally {
      await llm.close();
    }
  }, 120_000);
});
