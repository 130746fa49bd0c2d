// `ap start` (= `npm start`) as a user runs it: embedded PostgreSQL and Temporal in AP_DATA_DIR, the
// admin key printed once, Ctrl-C stops everything, and the next start finds every session, run and event.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/temporal/dev-server';
import { startFakeLlm } from '../fixtures/fake-llm';
import { serversOf, spawnAp, spawnStart, type ApProcess } from '../support/processes';
import { allEvents, Api, env, waitFor } from '../support/api';
import { canary } from '../support/canaries';

const procs: ApProcess[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill('SIGKILL');
});

function startPlatform(dataDir: string, port: number, log: string): ApProcess {
  const p = spawnStart(dataDir, port, env().temporalCli, log);
  procs.push(p);
  return p;
}

describe('ap start', () => {
  it('prints progress, URLs, the admin key once and Ready; a restart finds every session, run and event', async () => {
    const dataDir = path.join(env().runDir, 'start-e2e');
    fs.mkdirSync(dataDir, { recursive: true });
    const port = await freePort();
    const first = startPlatform(dataDir, port, path.join(env().logDir, 'start-1.log'));
    await first.ready;
    const out = first.output();
    const lines = out.split('\n');
    const keyLine = lines.find((l) => l.startsWith('Admin API key: '));
    expect(keyLine).toMatch(/^Admin API key: ap_[A-Za-z0-9_-]+$/);
    const order = ['API:', 'Dashboard:', 'Temporal UI:', 'Admin API key:', 'Ready:'].map((p) => lines.findIndex((l) => l.startsWith(p)));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(fs.existsSync(path.join(dataDir, 'temporal.db'))).toBe(true);
    expect(fs.existsSync(path.join(dataDir, 'pg', 'PG_VERSION'))).toBe(true);

    const api = new Api(keyLine!.slice('Admin API key: '.length), `http://127.0.0.1:${port}`);
    const llm = await startFakeLlm('openai');
    try {
      await api.post('/v1/model_cards', { id: 'fake', provider: 'openai', base_url: llm.baseUrl, api_key: canary('start'), default_model: 'm' });
      await api.post('/v1/agents', { name: 'assistant', model: { card: 'fake' } });
      llm.reply({ text: 'before the restart' });
      const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'hello', wait: true })).body;
      expect(run.status).toBe('completed');
      const eventsBefore = await allEvents(api, run.id);

      await first.kill('SIGINT');
      expect(first.output()).toContain('Stopped.');
      expect(first.child.exitCode).toBe(0);

      const second = startPlatform(dataDir, port, path.join(env().logDir, 'start-2.log'));
      await second.ready;
      expect(second.output()).not.toContain('Admin API key');
      expect((await api.get(`/v1/runs/${run.id}`)).body).toMatchObject({ status: 'completed', output_text: 'before the restart' });
      expect(await allEvents(api, run.id)).toEqual(eventsBefore);
      expect((await api.get(`/v1/sessions/${run.session_id}/messages`)).body.data).toHaveLength(2);
      // And it still runs agents.
      llm.reply({ text: 'after the restart' });
      const next = await api.post(`/v1/sessions/${run.session_id}/runs`, { input: 'again', wait: true });
      expect(next.body).toMatchObject({ status: 'completed', output_text: 'after the restart' });
      await second.kill('SIGTERM');
      expect(second.child.exitCode).toBe(0);
    } finally {
      await llm.close();
    }
  }, 180_000);

  it('a start whose API port is taken exits non-zero with the cause and leaves no PostgreSQL or Temporal behind', async () => {
    const dataDir = path.join(env().runDir, 'start-port-taken');
    fs.mkdirSync(dataDir, { recursive: true });
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, () => r()));
    try {
      const port = (taken.address() as net.AddressInfo).port;
      const p = startPlatform(dataDir, port, path.join(env().logDir, 'start-port-taken.log'));
      await expect(p.ready).rejects.toThrow(/exited with 1/);
      expect(p.output()).toMatch(/^Error: listen EADDRINUSE: address already in use .*:\d+$/m);
      expect(p.output()).toContain('PostgreSQL: embedded server');
      expect(p.output()).toContain('Temporal: dev server');
      expect(serversOf(dataDir)).toEqual([]);
    } finally {
      taken.close();
    }
  }, 180_000);

  it('a SIGKILLed start takes its servers with it, and the next start on the data directory comes up', async () => {
    const dataDir = path.join(env().runDir, 'start-killed');
    fs.mkdirSync(dataDir, { recursive: true });
    const port = await freePort();
    const first = startPlatform(dataDir, port, path.join(env().logDir, 'start-killed-1.log'));
    await first.ready;
    expect(serversOf(dataDir).length).toBeGreaterThanOrEqual(2);
    await first.kill('SIGKILL');
    await waitFor(async () => serversOf(dataDir).length === 0, 'the servers of the killed start to stop');
    const second = startPlatform(dataDir, port, path.join(env().logDir, 'start-killed-2.log'));
    await second.ready;
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    await second.kill('SIGTERM');
    expect(second.child.exitCode).toBe(0);
    expect(serversOf(dataDir)).toEqual([]);
  }, 180_000);

  it('a bad configuration value stops the process with one line naming the variable', async () => {
    const p = spawnAp(['start'], { AP_PORT: 'eighty', AP_DATA_DIR: path.join(env().runDir, 'bad-config') }, path.join(env().logDir, 'bad-config.log'));
    procs.push(p);
    await expect(p.ready).rejects.toThrow(/exited with 2/);
    const text = p.output().trim();
    expect(text.split('\n')).toHaveLength(1);
    expect(text).toMatch(/^Invalid configuration: AP_PORT /);
  });
});
