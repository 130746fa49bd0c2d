// Secrets never appear in responses, events, logs or Temporal history. The global teardown repeats
// the log/event/history scan over everything the whole suite did.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startToolServer } from '../fixtures/tool-server';
import { canary, CANARY_PREFIX, historiesContaining } from '../support/canaries';
import { allEvents, env, httpTool, setupAgent, waitFor } from '../support/api';

describe('secrets', () => {
  it('a provider that echoes the key in its error and a tool that echoes its token leak neither', async () => {
    const tools = await startToolServer();
    const { api, llm, apiKeyCanary } = await setupAgent();
    const token = canary('tooltoken');
    await api.post('/v1/vault', { name: 'tok', value: token });
    tools.route('/echo', { status: 400, body: (r: { headers: Record<string, unknown> }) => ({ error: `bad token ${String(r.headers.authorization)}` }) });
    await httpTool(api, 'echoer', `${tools.url}/echo`, { executor: { type: 'http', url: `${tools.url}/echo`, headers: { Authorization: 'Bearer {{vault.tok}}' } } });
    await api.patch('/v1/agents/assistant', { tools: ['echoer'] });
    llm.reply({ tool_calls: [{ name: 'echoer', arguments: { city: 'x' } }] }, { text: 'ok' });
    const toolRun = (await api.post('/v1/runs', { agent: 'assistant', input: 'go', wait: true })).body;
    expect(toolRun.status).toBe('completed');
    expect(tools.requests[0]!.headers.authorization).toBe(`Bearer ${token}`);
    const toolEvents = await allEvents(api, toolRun.id);
    expect(JSON.stringify(toolEvents)).toContain('[redacted]');

    // A successful answer that echoes the header is redacted too, before it reaches events or the model.
    tools.route('/echo', { status: 200, body: (r: { headers: Record<string, unknown> }) => ({ seen: r.headers.authorization, escaped: JSON.stringify(String(r.headers.authorization)) }) });
    llm.reply({ tool_calls: [{ name: 'echoer', arguments: { city: 'y' } }] }, { text: 'ok' });
    const okRun = (await api.post('/v1/runs', { agent: 'assistant', input: 'go', wait: true })).body;
    const okEvents = await allEvents(api, okRun.id);
    expect(okEvents.find((e) => e.type === 'tool_call.completed').data.output.seen).toBe('Bearer [redacted]');
    expect(JSON.stringify(llm.requests)).not.toContain(token);

    // A provider that rejects the key and quotes it back, as some gateways do.
    const echoing = http.createServer((req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `Incorrect API key provided: ${String(req.headers.authorization)}` } }));
    });
    await new Promise<void>((r) => echoing.listen(0, '127.0.0.1', () => r()));
    // probe: false, or the probe would refuse it (test/integration/model-card-probe.test.ts): the run is what is looked at here.
    await api.post('/v1/model_cards/fake', { base_url: `http://127.0.0.1:${(echoing.address() as AddressInfo).port}/v1`, probe: false });
    const failed = (await api.post('/v1/runs', { agent: 'assistant', input: 'go', wait: true })).body;
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'model_error' } });
    expect(failed.error.message).toContain('[redacted]');

    const everything = JSON.stringify([toolRun, okRun, okEvents, failed, toolEvents, await allEvents(api, failed.id), (await api.get('/v1/runs')).body, (await api.get('/v1/model_cards/fake')).body]);
    expect(everything).not.toContain(CANARY_PREFIX);
    expect(await historiesContaining(env(), CANARY_PREFIX, [toolRun.id, okRun.id, failed.id])).toEqual([]);
    // The histories do hold the run (so the search above looks at real data).
    expect(await historiesContaining(env(), 'echoer', [toolRun.id])).toEqual([`history of ${toolRun.id}`]);
    await waitFor(async () => fs.readFileSync(path.join(env().logDir, 'worker.log'), 'utf8').includes(failed.id), 'worker logs of the failed run', 10_000).catch(() => undefined);
    for (const f of fs.readdirSync(env().logDir)) {
      const text = fs.readFileSync(path.join(env().logDir, f), 'utf8');
      expect(text.includes(apiKeyCanary) || text.includes(token), `log ${f}`).toBe(false);
    }
    await new Promise<void>((r) => echoing.close(() => r()));
    await tools.close();
    await llm.close();
  });
});
