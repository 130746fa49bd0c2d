// The model-card probe (API.md 16): one GET of the card's model on its wire (`/models/{model}` under an
// OpenAI base URL, `/v1/models/{model}` under an Anthropic one), which spends no tokens but checks the
// URL, the key, the headers and the model name together, with exactly the headers a model call sends.
import { redactor } from '../security/redact';
import { BODY_LIMITS, readBoundedText } from '../security/bounded-body';
import { privateNetworkCause } from '../security/network-guard';
import { anthropicHeaders } from './anthropic';
import { openAIHeaders } from './openai';
import type { Endpoint } from './types';

/** What the provider answered: its status and, for an error, its own message without any secret sent to it. */
export interface ProbeAnswer {
  status: number;
  message: string;
}

/** No answer within the time, or no connection at all; the message names the failure, never the address. */
export class ProbeUnreachableError extends Error {}

const MESSAGE_CHARS = 300;

const WIRES = {
  openai: { path: (model: string) => `/models/${encodeURIComponent(model)}`, headers: openAIHeaders },
  anthropic: { path: (model: string) => `/v1/models/${encodeURIComponent(model)}`, headers: anthropicHeaders },
} as const;

/** The probe's path under the base URL, for messages. */
export const probePath = (provider: keyof typeof WIRES, model: string): string => WIRES[provider].path(model);

/**
 * Asks the provider for the model once, within `timeoutMs` for the whole answer. The guard's refusal is
 * rethrown as it is (PrivateNetworkError); no answer is ProbeUnreachableError.
 */
export async function probeModel(provider: keyof typeof WIRES, endpoint: Endpoint, model: string, timeoutMs: number): Promise<ProbeAnswer> {
  const wire = WIRES[provider];
  const signal = AbortSignal.timeout(timeoutMs);
  // The provider may quote what it was sent (a gateway echoing its request): none of it comes back out.
  const redact = redactor([endpoint.api_key, ...Object.values(endpoint.headers)]);
  try {
    const res = await endpoint.fetch(`${endpoint.base_url}${wire.path(model)}`, { method: 'GET', headers: { ...wire.headers(endpoint), accept: 'application/json' }, signal });
    if (res.ok) {
      await res.body?.cancel().catch(() => undefined);
      return { status: res.status, message: '' };
    }
    // A body that never ends (or is too large) still leaves the status to report.
    const text = await readBoundedText(res, BODY_LIMITS.errorBody).catch(() => '');
    return { status: res.status, message: redact(providerMessage(text)).slice(0, MESSAGE_CHARS) };
  } catch (err) {
    const blocked = privateNetworkCause(err);
    if (blocked) throw blocked;
    if (signal.aborted) throw new ProbeUnreachableError(`did not answer within ${timeoutMs / 1000} s`);
    const code = (err as { cause?: { code?: unknown } }).cause?.code;
    throw new ProbeUnreachableError(`could not be reached${typeof code === 'string' && /^[A-Z_]+$/.test(code) ? ` (${code})` : ''}`);
  }
}

/** `error.message` of the OpenAI and Anthropic error bodies (or a gateway's `message` / `detail`), else the text. */
function providerMessage(text: string): string {
  let found: unknown;
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown; detail?: unknown };
    found = typeof body.error === 'object' ? body.error?.message : (body.error ?? body.message ?? body.detail);
  } catch {
    found = text;
  }
  return (typeof found === 'string' ? found : JSON.stringify(found ?? '')).replace(/\s+/g, ' ').trim();
}
