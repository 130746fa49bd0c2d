// What a failed model call means (API.md 12): whether the agent's next fallback card is tried, and
// whether the activity is retried when no card is left. Pure; activities/model.ts acts on it.
import { privateNetworkCause } from '../security/network-guard';
import { ProviderError } from './types';

export interface ModelFailure {
  /** Another provider may answer where this one did not: try the next card. */
  fallback: boolean;
  /** With no card left (or no fallback), Temporal's retry policy runs the chain again; else RUN_ERROR.model_error. */
  retryable: boolean;
  /** The provider's HTTP status; null when it never answered. The only detail of a failure that is logged. */
  status: number | null;
  reason: 'rate_limited' | 'server_error' | 'unreachable' | 'stream_broken' | 'rejected' | 'blocked';
}

/**
 * | failure                                                              | fallback | retryable |
 * |----------------------------------------------------------------------|----------|-----------|
 * | 429                                                                  | yes      | yes       |
 * | 5xx                                                                  | yes      | yes       |
 * | no answer: refused, reset, DNS failure, undici's headers timeout     | yes      | yes       |
 * | the stream broke after a 200: dropped socket, body timeout, ended    | yes      | yes       |
 * |   early, malformed chunk, an in-band error other than a bad request  |          |           |
 * | 408, 409 (caused by this request, so a provider's guidance to retry) | no       | yes       |
 * | other 4xx, a 3xx, an in-band invalid_request_error                   | no       | no        |
 * | the card's base_url is on a private network (the SSRF guard)         | no       | no        |
 *
 * A 4xx other than 429 is caused by the request or the card's configuration: another card would only
 * hide it (and receive a request it should not), so the step fails as it does without fallbacks.
 */
export function classifyModelFailure(err: unknown): ModelFailure {
  if (privateNetworkCause(err)) return { fallback: false, retryable: false, status: null, reason: 'blocked' };
  // Anything else an adapter throws comes from reading the body: undici's "terminated" or body timeout.
  if (!(err instanceof ProviderError)) return { fallback: true, retryable: true, status: null, reason: 'stream_broken' };
  const status = err.status ?? null;
  if (status === null) return { fallback: true, retryable: true, status, reason: 'unreachable' };
  if (status === 429) return { fallback: true, retryable: true, status, reason: 'rate_limited' };
  if (status >= 500) return { fallback: true, retryable: true, status, reason: 'server_error' };
  // A 2xx failed in its stream: the adapter's own verdict (an in-band bad request is permanent).
  if (status < 300) return { fallback: err.retryable, retryable: err.retryable, status, reason: err.retryable ? 'stream_broken' : 'rejected' };
  return { fallback: false, retryable: err.retryable, status, reason: 'rejected' };
}

/**
 * The `attempt` of a step's token deltas (API.md 3.2): one number per card tried, increasing across the
 * cards of one activity attempt and across Temporal's retries of the activity, so a client that sees a
 * new attempt discards the text of the earlier one. The chain's length is fixed for a step (the agent
 * version is pinned), so the numbers never repeat; with no fallbacks it is the activity attempt.
 */
export function deltaAttempt(activityAttempt: number, chainLength: number, cardIndex: number): number {
  return (activityAttempt - 1) * chainLength + cardIndex + 1;
}
