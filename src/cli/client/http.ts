// The client commands' HTTP side: where the API is (AP_URL, AP_API_KEY), JSON calls that turn error
// bodies into one error class, and the raw event-stream request that events.ts resumes.
import { loadConfig } from '../../config';

/** An error answer of the API (API.md 1.2); its message is what the CLI prints after "Error: ". */
export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly apiMessage: string,
  ) {
    super(`${status} ${code}: ${apiMessage}`);
  }
}

/** The API could not be reached at all (refused, reset, DNS): worth a retry while following a stream. */
export class ConnectionError extends Error {}

export interface Endpoint {
  url: string;
  key: string;
}

export function endpoint(): Endpoint {
  const cfg = loadConfig();
  const key = cfg.client.apiKey;
  if (!key) {
    throw new Error(
      'AP_API_KEY is not set. Export an API key, e.g. `export AP_API_KEY=ap_...` (the admin key printed by the first `ap start`, or one from `ap keys create --name NAME --role developer`).',
    );
  }
  return { url: (cfg.client.url ?? `http://localhost:${cfg.port}`).replace(/\/+$/, ''), key };
}

export type Json = Record<string, unknown>;
export type Query = Record<string, string | number | undefined>;

export function withQuery(path: string, query: Query): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}${path.includes('?') ? '&' : '?'}${s}` : path;
}

export class ApiClient {
  constructor(readonly ep: Endpoint = endpoint()) {}

  get = <T = Json>(path: string, query: Query = {}): Promise<T> => this.json<T>('GET', withQuery(path, query));
  post = <T = Json>(path: string, body: unknown = {}): Promise<T> => this.json<T>('POST', path, body);

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.fetch(path, {
      method,
      headers: { ...this.auth(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw await errorOf(res);
    return (await res.json()) as T;
  }

  /** GET /v1/runs/:id/events as SSE after `afterSeq`; the caller reads (and cancels) the body. */
  /** An SSE stream of stored events (a run's, or a session's log) after `afterSeq`, with deltas when asked. */
  async eventStream(path: string, afterSeq: number, deltas: boolean, signal: AbortSignal): Promise<Response> {
    const res = await this.fetch(withQuery(path, { include: deltas ? 'deltas' : undefined }), {
      headers: { ...this.auth(), accept: 'text/event-stream', ...(afterSeq > 0 ? { 'last-event-id': String(afterSeq) } : {}) },
      signal,
    });
    if (!res.ok) throw await errorOf(res);
    return res;
  }

  private auth = (): Record<string, string> => ({ authorization: `Bearer ${this.ep.key}` });

  private async fetch(path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(`${this.ep.url}${path}`, init);
    } catch (err) {
      if (init.signal?.aborted) throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ConnectionError(`Cannot reach the API at ${this.ep.url} (${cause?.code ?? cause?.message ?? (err as Error).message}); is it running, and is AP_URL right?`);
    }
  }
}

async function errorOf(res: Response): Promise<ApiCallError> {
  const text = await res.text().catch(() => '');
  try {
    const e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
    if (e?.code) return new ApiCallError(res.status, e.code, e.message ?? '');
  } catch {
    /* not our error body (a proxy's page, say): fall through */
  }
  return new ApiCallError(res.status, 'http_error', res.statusText || text.slice(0, 200));
}

/** Statuses a follower retries: the server is restarting, overloaded or briefly unreachable. */
export const isRetriable = (err: unknown): boolean =>
  err instanceof ConnectionError || (err instanceof ApiCallError && (err.status >= 500 || err.status === 429));
