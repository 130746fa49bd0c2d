// The one interface both model wire adapters implement.
import type { Response } from 'undici';
import type { Message } from '../domain/message';
import { BODY_LIMITS, BodyTooLargeError, describeBytes, limitBytes, readBoundedText } from '../security/bounded-body';
import { privateNetworkCause, type GuardedFetch } from '../security/network-guard';
import { decodeSse, type SseMessage } from './sse-decoder';

export interface ModelTool {
  name: string;
  description: string;
  input_schema: Record<string, unknown>;
}

export interface ModelRequest {
  model: string;
  instructions: string;
  messages: Message[];
  tools: ModelTool[];
  max_output_tokens?: number;
}

export interface Endpoint {
  base_url: string;
  api_key: string;
  headers: Record<string, string>;
  /** The guarded fetch: connects only to checked addresses and never follows a redirect. */
  fetch: GuardedFetch;
}

export interface RawToolCall {
  name: string;
  /** Exactly what the model produced; parsed and validated by the caller. */
  arguments_json: string;
  provider_id: string;
}

export interface ModelResult {
  text: string;
  tool_calls: RawToolCall[];
  usage: { input_tokens: number; output_tokens: number };
  finish_reason: string;
}

export interface StreamHooks {
  signal: AbortSignal;
  onDelta(text: string): void;
  /** Called for every received chunk, so the caller can heartbeat. */
  onChunk(): void;
}

/** A provider's HTTP failure; `retryable` follows the providers' own guidance (429, 408, 409, 5xx). */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export type ModelAdapter = (endpoint: Endpoint, req: ModelRequest, hooks: StreamHooks) => Promise<ModelResult>;

export async function postStream(endpoint: Endpoint, url: string, headers: Record<string, string>, body: unknown, signal: AbortSignal): Promise<Response> {
  let res: Response;
  try {
    res = await endpoint.fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), signal });
  } catch (err) {
    if (signal.aborted) throw err;
    // A refused address is the guard's decision, not an outage: the caller fails the call at once.
    const blocked = privateNetworkCause(err);
    if (blocked) throw blocked;
    throw new ProviderError(`Model provider unreachable: ${(err as Error).message}`, undefined, true);
  }
  if (res.status >= 300 && res.status < 400) {
    await res.body?.cancel().catch(() => undefined);
    throw new ProviderError(`Model provider answered ${res.status}: a redirect, which is not followed`, res.status, false);
  }
  if (!res.ok) {
    const text = (await readBoundedText(res, BODY_LIMITS.errorBody).catch(() => '')).slice(0, 500);
    const retryable = res.status === 408 || res.status === 409 || res.status === 429 || res.status >= 500;
    throw new ProviderError(`Model provider answered ${res.status}: ${text}`, res.status, retryable);
  }
  if (!res.body) throw new ProviderError('Model provider sent no body', res.status, true);
  return res;
}

/**
 * The events of a provider's stream, within BODY_LIMITS (one line, the whole stream). Past a limit the
 * call fails for good: the same request would get the same answer, and no fallback should wait on it.
 */
export async function* providerEvents(res: Response): AsyncGenerator<SseMessage> {
  try {
    yield* decodeSse(limitBytes(res.body!, BODY_LIMITS.stream));
  } catch (err) {
    if (err instanceof BodyTooLargeError) throw new ProviderError(`Model provider's stream exceeded a limit: ${err.message}`, res.status, false);
    throw err;
  }
}

/** Counts what a model call produced (text and tool-call arguments) against BODY_LIMITS.modelOutput. */
export function outputMeter(status: number): (piece: string) => void {
  let total = 0;
  return (piece) => {
    total += piece.length;
    if (total > BODY_LIMITS.modelOutput) throw new ProviderError(`Model output exceeded ${describeBytes(BODY_LIMITS.modelOutput)}`, status, false);
  };
}
