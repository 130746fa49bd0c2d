// The benchmark's view of the platform: a plain HTTP client, the definitions the scenarios use, and
// SSE readers that time each frame on arrival.
import http from 'node:http';
import { decodeSse } from '../src/providers/sse-decoder';
import type { AddressInfo } from 'node:net';

export class Http {
  constructor(
    readonly base: string,
    readonly key: string,
  ) {}

  async call<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text.startsWith('{') ? JSON.parse(text) : text) as T };
  }

  async must<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.call<T>(method, path, body);
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }
}

export interface Frame {
  id?: number;
  event: string;
  data: any;
  at: number; // performance.now() on arrival
  wall: number; // Date.now() on arrival
}

/**
 * Reads an SSE response, calling onFrame for each frame as it arrives; resolves at the end of the stream
 * or when onFrame returns true.
 */
export async function readFrames(res: Response, onFrame: (f: Frame) => boolean | void): Promise<void> {
  // Leaving the loop early cancels the response body (the stream's iterator is returned).
  for await (const msg of decodeSse(res.body as unknown as AsyncIterable<Uint8Array>)) {
    if (!msg.data) continue;
    const frame = { id: msg.id === undefined ? undefined : Number(msg.id), event: msg.event ?? 'message', data: JSON.parse(msg.data), at: performance.now(), wall: Date.now() };
    if (onFrame(frame)) return;
  }
}

export const openStream = (h: Http, runId: string, afterSeq: number) =>
  fetch(`${h.base}/v1/runs/${runId}/events?after_seq=${afterSeq}`, { headers: { authorization: `Bearer ${h.key}`, accept: 'text/event-stream' } });

/** A tool target answering at once. */
export async function startToolTarget(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true,"items":["a","b"]}');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Model card, tools and the three agents the scenarios run. */
export async function define(admin: Http, providerBaseUrl: string, toolUrl: string): Promise<{ developer: Http }> {
  await admin.must('POST', '/v1/model_cards', { id: 'bench', provider: 'openai', base_url: providerBaseUrl, api_key: 'bench-provider-key', default_model: 'bench-model' });
  const schema = { type: 'object', properties: { q: { type: 'string' } } };
  await admin.must('POST', '/v1/tools', { name: 'lookup', effect: 'read', input_schema: schema, executor: { type: 'http', url: `${toolUrl}/lookup` } });
  await admin.must('POST', '/v1/tools', { name: 'act', effect: 'write', input_schema: schema, executor: { type: 'http', url: `${toolUrl}/act` } });
  await admin.must('POST', '/v1/agents', { name: 'one', model: { card: 'bench' }, instructions: 'Answer.' });
  await admin.must('POST', '/v1/agents', { name: 'steps', model: { card: 'bench' }, instructions: 'Look things up.', tools: ['lookup'], limits: { max_steps: 10, max_tool_calls: 10 } });
  await admin.must('POST', '/v1/agents', { name: 'approve', model: { card: 'bench' }, instructions: 'Act.', tools: ['act'] });
  const key = await admin.must<{ key: string }>('POST', '/v1/api_keys', { name: 'bench-developer', roles: ['developer'] });
  return { developer: new Http(admin.base, key.key) };
}
