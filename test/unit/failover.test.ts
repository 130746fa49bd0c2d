// Which model-call failures move to the next fallback card, and the delta attempt numbers (API.md 12, 3.2).
import { describe, expect, it } from 'vitest';
import { classifyModelFailure, deltaAttempt } from '../../src/providers/failover';
import { ProviderError } from '../../src/providers/types';
import { PrivateNetworkError } from '../../src/security/network-guard';

// As postStream and the adapters build them.
const answered = (status: number) => new ProviderError(`Model provider answered ${status}: body`, status, status === 408 || status === 409 || status === 429 || status >= 500);

describe('classifyModelFailure', () => {
  it.each([429, 500, 502, 503, 504, 529])('%i falls back, and is retryable when no card is left', (status) => {
    expect(classifyModelFailure(answered(status))).toMatchObject({ fallback: true, retryable: true, status });
  });

  it.each([400, 401, 403, 404, 413, 422])('%i does not fall back and fails the step', (status) => {
    expect(classifyModelFailure(answered(status))).toEqual({ fallback: false, retryable: false, status, reason: 'rejected' });
  });

  it.each([408, 409])('%i does not fall back but stays retryable, as without fallbacks', (status) => {
    expect(classifyModelFailure(answered(status))).toEqual({ fallback: false, retryable: true, status, reason: 'rejected' });
  });

  it('a redirect (never followed) does not fall back and fails the step', () => {
    expect(classifyModelFailure(new ProviderError('Model provider answered 307: a redirect, which is not followed', 307, false))).toMatchObject({ fallback: false, retryable: false });
  });

  it('no answer at all (refused, reset, DNS, the headers timeout) falls back', () => {
    const refused = new ProviderError('Model provider unreachable: fetch failed', undefined, true);
    expect(classifyModelFailure(refused)).toEqual({ fallback: true, retryable: true, status: null, reason: 'unreachable' });
  });

  it('a stream that broke after a 200 falls back unless the provider said the request is bad', () => {
    expect(classifyModelFailure(new ProviderError('Model stream ended before [DONE]', 200, true))).toMatchObject({ fallback: true, retryable: true, reason: 'stream_broken' });
    expect(classifyModelFailure(new ProviderError('Model provider error: overloaded', 200, true))).toMatchObject({ fallback: true, retryable: true });
    expect(classifyModelFailure(new ProviderError('Model provider error: bad request', 200, false))).toEqual({ fallback: false, retryable: false, status: 200, reason: 'rejected' });
    // undici's errors while reading the body are not ProviderErrors.
    expect(classifyModelFailure(new TypeError('terminated'))).toMatchObject({ fallback: true, retryable: true, status: null, reason: 'stream_broken' });
  });

  it('a base_url on a private network is refused, not fallen back from', () => {
    const blocked = Object.assign(new TypeError('fetch failed'), { cause: new PrivateNetworkError('Refusing to connect to 10.0.0.1') });
    expect(classifyModelFailure(blocked)).toEqual({ fallback: false, retryable: false, status: null, reason: 'blocked' });
  });
});

describe('deltaAttempt', () => {
  it('without fallbacks it is the activity attempt', () => {
    expect([1, 2, 3, 4].map((a) => deltaAttempt(a, 1, 0))).toEqual([1, 2, 3, 4]);
  });

  it('increases with every card tried, within an activity attempt and across retries, and never repeats', () => {
    const seen: number[] = [];
    for (let attempt = 1; attempt <= 4; attempt++) for (let card = 0; card < 5; card++) seen.push(deltaAttempt(attempt, 5, card));
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });
});
