// The `ap` CLI as a user runs it: local key creation and the client commands against the API.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Api, env, setupAgent } from '../support/api';

const ROOT = path.resolve(__dirname, '../..');
// Asynchronous on purpose: the fake provider lives in this process and must keep answering.
const ap = (args: string[], extra: Record<string, string> = {}) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin/ap.js'), ...args],
      { cwd: ROOT, timeout: 60_000, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATABASE_URL: env().databaseUrl, AP_URL: env().apiUrl, ...extra } },
      (err, stdout, stderr) => resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });

describe('ap CLI', () => {
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

  it('ap runs create and ap runs watch talk to the API and exit with the run outcome', async () => {
    const { api, llm } = await setupAgent();
    try {
      llm.reply({ text: 'Hello from the CLI.' });
      const created = await ap(['runs', 'create', '--agent', 'assistant', '--wait', '--json', 'hi'], { AP_API_KEY: api.key });
      expect(created.status).toBe(0);
      const run = JSON.parse(created.stdout);
      expect(run).toMatchObject({ status: 'completed', output_text: 'Hello from the CLI.' });
      const watched = await ap(['runs', 'watch', run.id], { AP_API_KEY: api.key });
      expect(watched.status).toBe(0);
      expect(watched.stdout).toContain('[run.completed]');
    } finally {
      await llm.close();
    }
  });
});
