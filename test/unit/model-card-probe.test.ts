// The model-card probe's wire (src/providers/probe.ts) against a local server, and the write schemas'
// aliases (src/domain/model-card.ts): what the HTTP tests cannot easily script.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { modelCardCreateSchema, modelCardUpdateSchema } from '../../src/domain/model-card';
import { probeModel, ProbeUnreachableError } from '../../src/providers/probe';
import { guardedFetch } from '../../src/security/network-guard';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const endpoint = (base_url: string, api_key = 'sk-unit-key', headers: Record<string, string> = {}) => ({ base_url, api_key, headers, fetch: guardedFetch(true) });

describe('probeModel', () => {
  it('GETs the model URL-encoded, as the SDKs do, with the wire headers', async () => {
    const seen: { url?: string; headers?: http.IncomingHttpHeaders }[] = [];
    const url = await serve((req, res) => {
      seen.push({ url: req.url, headers: req.headers });
      res.end('{}');
    });
    expect(await probeModel('openai', endpoint(`${url}/v1`), 'llama3:8b', 1000)).toEqual({ status: 200, message: '' });
    expect(await probeModel('anthropic', endpoint(url, 'sk-ant', { 'X-Team': 't' }), 'org/model', 1000)).toEqual({ status: 200, message: '' });
    expect(seen[0]).toMatchObject({ url: '/v1/models/llama3%3A8b', headers: { authorization: 'Bearer sk-unit-key' } });
    expect(seen[1]).toMatchObject({ url: '/v1/models/org%2Fmodel', headers: { 'x-api-key': 'sk-ant', 'anthropic-version': '2023-06-01', 'x-team': 't' } });
  });

  it("answers the provider's error.message with every quoted form of the key and header values redacted", async () => {
    const key = 'sk-"quoted\\key/with+chars';
    const url = await serve((req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      const auth = String(req.headers.authorization);
      res.end(JSON.stringify({ error: { message: `bad ${auth} / ${encodeURIComponent(key)} / header ${String(req.headers['x-gw'])}` } }));
    });
    const { status, message } = await probeModel('openai', endpoint(url, key, { 'X-Gw': 'gw-secret-value' }), 'm', 1000);
    expect(status).toBe(401);
    expect(message).toBe('bad Bearer [redacted] / [redacted] / header [redacted]');
  });

  it('a body that is not JSON is its text, whitespace collapsed, at most 300 characters', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end(`<html>\n  <body>Not   found</body>\n</html>${'x'.repeat(1000)}`);
    });
    const { status, message } = await probeModel('openai', endpoint(url), 'm', 1000);
    expect(status).toBe(404);
    expect(message.startsWith('<html> <body>Not found</body> </html>xxx')).toBe(true);
    expect(message).toHaveLength(300);
  });

  it('a 401 whose body never ends still reports its status once the time is up', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.write('{"error":{"message":"never');
    });
    expect(await probeModel('openai', endpoint(url), 'm', 300)).toEqual({ status: 401, message: '' });
  });

  it('no answer within the time, or no server, is ProbeUnreachableError', async () => {
    const hanging = await serve(() => undefined);
    await expect(probeModel('openai', endpoint(hanging), 'm', 300)).rejects.toThrow(new ProbeUnreachableError('did not answer within 0.3 s'));
    const closed = await serve(() => undefined);
    servers.pop()!.close();
    await expect(probeModel('anthropic', endpoint(closed), 'm', 1000)).rejects.toThrow(/could not be reached \(ECONNREFUSED\)/);
  });
});

describe('model-card write schemas', () => {
  it('accept the seed spellings and answer the canonical ones', () => {
    expect(modelCardCreateSchema.parse({ model_id: 'c', provider: 'ant-compatible', api_key: 'k', model: 'm', custom_headers: { 'X-A': 'b' }, probe: false }))
      .toEqual({ id: 'c', provider: 'anthropic', api_key: 'k', default_model: 'm', headers: { 'X-A': 'b' }, probe: false });
    for (const [alias, provider] of [['oai', 'openai'], ['oai-compatible', 'openai'], ['ant', 'anthropic']]) {
      expect(modelCardCreateSchema.parse({ id: 'c', provider: alias, api_key: 'k', default_model: 'm' }).provider).toBe(provider);
    }
    expect(modelCardUpdateSchema.parse({ model: 'n', custom_headers: {} })).toEqual({ default_model: 'n', headers: {} });
  });

  it('refuse a field beside its alias, a missing id, and model_id on update', () => {
    const paths = (r: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }) => r.error?.issues.map((i) => i.path.join('.'));
    expect(paths(modelCardCreateSchema.safeParse({ id: 'a', model_id: 'a', provider: 'openai', api_key: 'k', default_model: 'm' }))).toEqual(['model_id']);
    expect(paths(modelCardCreateSchema.safeParse({ provider: 'openai', api_key: 'k', default_model: 'm' }))).toEqual(['id']);
    expect(paths(modelCardUpdateSchema.safeParse({ headers: {}, custom_headers: {} }))).toEqual(['custom_headers']);
    expect(modelCardUpdateSchema.safeParse({ model_id: 'x' }).success).toBe(false);
    expect(modelCardCreateSchema.safeParse({ id: 'e', provider: 'echo', default_model: 'echo', custom_headers: {} }).success).toBe(false);
  });
});
