// Maps "Temporal is not reachable" to `temporal_unavailable` with Retry-After (API.md 1.2).
import { ServiceError } from '@temporalio/client';
import { PlatformError } from '../domain/errors';

const UNAVAILABLE = /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED|failed to connect|Connection dropped|transport/i;

export const temporalUnavailable = (): PlatformError =>
  new PlatformError('temporal_unavailable', 'The workflow engine is not reachable; retry shortly', undefined, { 'Retry-After': '5' });

export async function temporalCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const text = `${(err as Error)?.message ?? ''} ${String((err as { cause?: unknown })?.cause ?? '')}`;
    if (err instanceof ServiceError || UNAVAILABLE.test(text)) {
      // A NativeConnection's (eager start) says "tcp connect error", with code 14 on the cause.
      if (UNAVAILABLE.test(text) || (err as { code?: number }).code === 14 || (err as { cause?: { code?: number } }).cause?.code === 14) throw temporalUnavailable();
    }
    throw err;
  }
}
