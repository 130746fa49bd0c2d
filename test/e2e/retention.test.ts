// Retention and deletion: `ap purge` removes ended runs' content (keeping status and usage, GET /v1/usage
// included, and an audit record); deleting a session removes its transcript, events and approvals, and is audited.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { allEvents, env, setupAgent, waitFor, waitForStatus } from '../support/api';

const ROOT = path.resolve(__dirname, '../..');
const ap = (args: string[]) =>
  new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'bin/ap.js'), ...args], { cwd: ROOT, timeout: 60_000, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATABASE_URL: env().databaseUrl, AP_MASTER_KEY: env().masterKey } }, (err, stdout, stderr) =>
      resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });

describe('retention', () => {
  it('ap purge removes the content of ended runs, keeps their status and usage, and is audited', async () => {
    const { api, llm } = await setupAgent();
    try {
      llm.reply({ text: 'secret-ish answer' });
      const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'private question', wait: true })).body;
      expect((await allEvents(api, run.id)).length).toBeGreaterThan(0);
      // A run canceled with a reason (an end user's words, maybe): the reason is content too.
      llm.reply({ text: 'never finished', delay_ms: 60_000 });
      const canceled = (await api.post('/v1/runs', { agent: 'assistant', input: 'another question' })).body;
      await waitFor(async () => llm.requests.length === 2, 'the second model call');
      expect((await api.post(`/v1/runs/${canceled.id}/cancel`, { reason: 'asked by mistake' })).status).toBe(202);
      expect((await waitForStatus(api, canceled.id, ['canceled'])).cancel_reason).toBe('asked by mistake');
      const ws = (await api.get('/v1/workspaces/current')).body.id;
      const usage = async () => Promise.all(['model', 'day'].map(async (g) => (await api.get(`/v1/usage?group_by=${g}`)).body.data));
      const usageBefore = await usage();
      expect(usageBefore[0]).toMatchObject([{ key: 'fake-model', runs: 1 }]);
      const res = await ap(['purge', '--older-than', '0s', '--workspace', ws]);
      expect(res.stderr).toBe('');
      expect(res.stdout).toContain('Purged the content of 2 ended run(s)');
      const after = (await api.get(`/v1/runs/${run.id}`)).body;
      expect(after).toMatchObject({ status: 'completed', output: [], output_text: null, input: [] });
      expect((await api.get(`/v1/runs/${canceled.id}`)).body).toMatchObject({ status: 'canceled', input: [], cancel_reason: null });
      expect(after.usage.model_calls).toBe(1);
      expect(await allEvents(api, run.id)).toEqual([]);
      // Usage outlives the content: by model too (run_model_calls keeps the model calls without their text).
      expect(await usage()).toEqual(usageBefore);
      expect((await api.get(`/v1/sessions/${run.session_id}/messages`)).body.data).toEqual([]);
      const audit = (await api.get('/v1/audit_log?type=retention')).body.data;
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ action: 'retention.purge', data: { runs: 2 } });
      // Keyed with the deployment's master key, like the API's own records.
      expect((await api.get('/v1/audit_log/verify')).body.ok).toBe(true);
      expect((await ap(['purge', '--older-than', '0s', '--workspace', ws])).stdout).toContain('Purged the content of 0 ended run(s)');
      expect((await ap(['purge'])).status).toBe(1);
    } finally {
      await llm.close();
    }
  });
});
