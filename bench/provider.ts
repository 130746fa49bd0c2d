// The benchmark's model provider: a local OpenAI Chat Completions server (streaming SSE, as the
// platform calls it) whose latency, answer length and tool use are parameters. Unlike the test
// fixture it needs no script: every request gets the configured answer, so load can be unbounded.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeSse } from '../src/providers/sse-decoder';

export interface ProviderBehaviour {
  /** Delay before the first byte. */
  latency_ms: number;
  /** Number of text tokens (chunks) in the answer. */
  tokens: number;
  /** Delay between chunks. */
  token_delay_ms: number;
  /**
   * Ask for this many tool calls (one per step) before answering with text; counted since the last user
   * message, so that each run of a session gets them (its context holds the earlier runs' tool results).
   */
  tool_steps: number;
  tool_name: string;
}

export interface BenchProvider {
  baseUrl: string;
  set(b: Partial<ProviderBehaviour>): void;
  close(): Promise<void>;
}

const sleep = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

export async function startProvider(): Promise<BenchProvider> {
  let b: ProviderBehaviour = { latency_ms: 0, tokens: 5, token_delay_ms: 0, tool_steps: 0, tool_name: 'lookup' };
  const server = http.createServer(async (req, res) => {
    let raw = '';
    for await (const c of req) raw += c;
    // The model-card probe (API.md 16) when the bench creates its card: the model exists.
    const probed = req.method === 'GET' ? /^\/v1\/models\/([^/?]+)$/.exec(req.url ?? '') : null;
    if (probed) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: decodeURIComponent(probed[1]!), object: 'model', created: 1_700_000_000, owned_by: 'bench' }));
      return;
    }
    const body = JSON.parse(raw || '{}') as { messages?: { role: string }[]; stream?: boolean };
    const messages = body.messages ?? [];
    const lastUser = messages.map((m) => m.role).lastIndexOf('user');
    const toolResults = messages.slice(lastUser + 1).filter((m) => m.role === 'tool').length;
    const behaviour = b;
    await sleep(behaviour.latency_ms);
    const base = { id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'bench-model' };
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const send = (obj: unknown) => res.write(`data: ${JSON.stringify(obj)}\n\n`);
    send({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
    const wantsTool = toolResults < behaviour.tool_steps;
    if (wantsTool) {
      const args = JSON.stringify({ q: `item ${toolResults + 1}` });
      send({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: `call_${toolResults}`, type: 'function', function: { name: behaviour.tool_name, arguments: args } }] }, finish_reason: null }] });
    } else {
      for (let i = 0; i < behaviour.tokens; i++) {
        if (i > 0) await sleep(behaviour.token_delay_ms);
        if (res.destroyed) return;
        send({ ...base, choices: [{ index: 0, delta: { content: `t${i} ` }, finish_reason: null }] });
      }
    }
    send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: wantsTool ? 'tool_calls' : 'stop' }] });
    send({ ...base, choices: [], usage: { prompt_tokens: 10, completion_tokens: behaviour.tokens, total_tokens: 10 + behaviour.tokens } });
    res.end('data: [DONE]\n\n');
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl: `${url}/v1`,
    set: (patch) => void (b = { ...b, ...patch }),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** The direct floor of a run of `toolCalls + 1` steps: the provider and tool calls one after another, no platform. */
export async function directSteps(baseUrl: string, toolUrl: string, toolCalls: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < toolCalls; i++) {
    await directCall(baseUrl);
    const res = await fetch(toolUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"q":"x"}' });
    await res.text();
  }
  await directCall(baseUrl);
  return performance.now() - started;
}

/** The baselines' direct calls: time to first content token and to the end of a streamed answer. */
export async function directCall(baseUrl: string): Promise<{ first_token_ms: number; total_ms: number; gaps_ms: number[] }> {
  const started = performance.now();
  const res = await fetch(`${baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer bench' },
    body: JSON.stringify({ model: 'bench-model', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });
  let first = 0;
  let last = 0;
  const gaps: number[] = [];
  for await (const msg of decodeSse(res.body as unknown as AsyncIterable<Uint8Array>)) {
    if (!/"content":"t\d+ "/.test(msg.data)) continue;
    const now = performance.now();
    if (!first) first = now;
    else gaps.push(now - last);
    last = now;
  }
  return { first_token_ms: (first || performance.now()) - started, total_ms: performance.now() - started, gaps_ms: gaps };
}
