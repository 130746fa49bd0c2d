// The OpenAI-wire embeddings call (`POST {base_url}/embeddings` `{model, input}`), for memory stores.
// Errors carry the HTTP status only, never the provider's body: a provider or a gateway may quote the key.
import { usableEmbedding } from '../domain/memory';
import { BODY_LIMITS, BodyTooLargeError, readBoundedText } from '../security/bounded-body';
import { privateNetworkCause } from '../security/network-guard';
import { ProviderError, type Endpoint } from './types';

interface EmbeddingsResponse {
  data?: { index?: number; embedding?: unknown }[];
}

/** One vector for one text; a refused address is rethrown as the guard's error, the rest as ProviderError. */
export async function embedOpenAI(endpoint: Endpoint, model: string, input: string, signal: AbortSignal): Promise<number[]> {
  let res: Awaited<ReturnType<Endpoint['fetch']>>;
  try {
    res = await endpoint.fetch(`${endpoint.base_url}/embeddings`, {
      method: 'POST',
      headers: { ...endpoint.headers, 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${endpoint.api_key}` },
      body: JSON.stringify({ model, input }),
      signal,
    });
  } catch (err) {
    const blocked = privateNetworkCause(err);
    if (blocked) throw blocked;
    throw new ProviderError(signal.aborted ? 'Embedding provider timed out' : 'Embedding provider unreachable', undefined, true);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    const retryable = res.status === 408 || res.status === 409 || res.status === 429 || res.status >= 500;
    const what = res.status >= 300 && res.status < 400 ? ': a redirect, which is not followed' : '';
    throw new ProviderError(`Embedding provider answered ${res.status}${what}`, res.status, retryable);
  }
  let body: EmbeddingsResponse;
  try {
    body = JSON.parse(await readBoundedText(res, BODY_LIMITS.embedding)) as EmbeddingsResponse;
  } catch (err) {
    if (err instanceof BodyTooLargeError) throw new ProviderError(`Embedding provider's answer is too large: ${err.message}`, res.status, false);
    throw new ProviderError('Embedding provider sent a body that is not JSON', res.status, true);
  }
  const item = body?.data?.find((d) => (d.index ?? 0) === 0);
  if (!usableEmbedding(item?.embedding)) {
    throw new ProviderError('Embedding provider sent no usable embedding (finite numbers, not all zero)', res.status, false);
  }
  return item.embedding;
}
