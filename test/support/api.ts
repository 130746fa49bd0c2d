// Test helpers that use the platform as a client does: HTTP calls with an API key, a workspace per
// test, SSE reading, and polling with a deadline (never fixed sleeps).
import { expect, inject } from 'vitest';
import { decodeSse, type SseMessage } from '../../src/providers/sse-decoder';
import { startFakeLlm, type FakeLlm } from '../fixtures/fake-llm';
import { canary } from './canaries';

export const env = () => inject('env');

export interface Res<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** Longer than any `wait_timeout_seconds` a test uses. */
const REQUEST_TIMEOUT_MS = 150_000;

export class Api {
  constructor(
    readonly key: string,
    readonly base = env().apiUrl,
  ) {}

  /** A string is sent as it is, a FormData as multipart (fetch sets its boundary), anything else as JSON. */
  async call<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res<T>> {
    const form = body instanceof FormData;
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.key}`, ...(body !== undefined && !form ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' || form ? (body as string | FormData) : JSON.stringify(body),
      // A request that never answers fails the test with its path instead of hanging it until vitest's timeout.
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }
  get = <T = any>(p: string, h?: Record<string, string>) => this.call<T>('GET', p, undefined, h);
  post = <T = any>(p: string, b?: unknown, h?: Record<string, string>) => this.call<T>('POST', p, b ?? {}, h);
  patch = <T = any>(p: string, b?: unknown) => this.call<T>('PATCH', p, b ?? {});
  delete = <T = any>(p: string) => this.call<T>('DELETE', p);
}

export const adminApi = () => new Api(env().adminKey);

/** A fresh workspace with its own admin key: tests never share data. */
export async function newWorkspace(name = 'test'): Promise<Api> {
  const res = await adminApi().post('/v1/workspaces', { name });
  expect(res.status).toBe(201);
  return new Api(res.body.admin_key);
}

export function expectError(res: Res, status: number, type: string, code: string): void {
  expect({ status: res.status, type: res.body?.error?.type, code: res.body?.error?.code }).toEqual({ status, type, code });
  expect(typeof res.body.error.message).toBe('string');
  expect(res.body.error.request_id).toBe(res.headers.get('x-request-id'));
}

export async function waitFor<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`Timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** A run's Temporal history (`GET /v1/runs/:id/history`) as text, its payloads decoded from the base64 Temporal stores them in. */
export async function historyText(api: Api, runId: string): Promise<string> {
  const raw = JSON.stringify((await api.get(`/v1/runs/${runId}/history`)).body);
  return raw.replace(/"data":"([A-Za-z0-9+/=]+)"/g, (_m, b64: string) => Buffer.from(b64, 'base64').toString('utf8'));
}

export const waitForStatus = (api: Api, runId: string, statuses: string[], timeoutMs?: number) =>
  waitFor(async () => {
    const r = await api.get(`/v1/runs/${runId}`);
    return statuses.includes(r.body.status) ? r.body : undefined;
  }, `run ${runId} to reach ${statuses.join('/')}`, timeoutMs);

export async function allEvents(api: Api, runId: string): Promise<any[]> {
  const out: any[] = [];
  let after = 0;
  for (;;) {
    const r = await api.get(`/v1/runs/${runId}/events?after_seq=${after}&limit=100`);
    expect(r.status).toBe(200);
    out.push(...r.body.data);
    if (!r.body.has_more) return out;
    after = r.body.next_after_seq;
  }
}

/** Reads an SSE response until it ends or `stop` says so; returns the messages. */
export async function readSse(res: Response, stop?: (m: SseMessage, all: SseMessage[]) => boolean): Promise<SseMessage[]> {
  const all: SseMessage[] = [];
  const controller = new AbortController();
  try {
    for await (const m of decodeSse(res.body!)) {
      all.push(m);
      if (stop?.(m, all)) {
        controller.abort();
        await res.body!.cancel().catch(() => undefined);
        break;
      }
    }
  } catch (err) {
    if (!controller.signal.aborted) throw err;
  }
  return all;
}

export interface AgentSetup {
  api: Api;
  llm: FakeLlm;
  agent: any;
  apiKeyCanary: string;
}

/** A workspace with a fake provider, a model card (canary key) and an agent using the given tools. */
export async function setupAgent(opts: { provider?: 'openai' | 'anthropic'; tools?: string[]; limits?: Record<string, number>; api?: Api; pricing?: boolean } = {}): Promise<AgentSetup> {
  const api = opts.api ?? (await newWorkspace());
  const provider = opts.provider ?? 'openai';
  const llm = await startFakeLlm(provider);
  const apiKeyCanary = canary('modelkey');
  const card = await api.post('/v1/model_cards', {
    id: 'fake',
    provider,
    base_url: llm.baseUrl,
    api_key: apiKeyCanary,
    default_model: 'fake-model',
    ...(opts.pricing ? { pricing: { input_per_mtok: 1, output_per_mtok: 2 } } : {}),
  });
  expect(card.status).toBe(201);
  const agent = await api.post('/v1/agents', {
    name: 'assistant',
    model: { card: 'fake' },
    instructions: 'You are a test assistant.',
    tools: opts.tools ?? [],
    limits: opts.limits ?? {},
  });
  expect(agent.status).toBe(201);
  return { api, llm, agent: agent.body, apiKeyCanary };
}

export async function httpTool(api: Api, name: string, url: string, extra: Record<string, unknown> = {}) {
  const res = await api.post('/v1/tools', {
    name,
    description: `${name} tool`,
    effect: 'read',
    input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    executor: { type: 'http', url },
    ...extra,
  });
  expect(res.status).toBe(201);
  return res.body;
}
