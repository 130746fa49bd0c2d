// The one error model of the API (API.md 1.2) and the codes a run can fail with (API.md 3.1).
// The API's codes and their types are catalogued in ./error-codes.ts.
import { ERROR_CODES, type ErrorCode, type ErrorCodeEntry, type ErrorType } from './error-codes';

/**
 * An error the API answers with its documented body. Code anywhere (services, core, activities) names a
 * catalogue code; only the API turns the code into an HTTP status (src/api/error-status.ts).
 */
export class PlatformError extends Error {
  readonly type: ErrorType;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly param?: string,
    /** Sent with the answer, e.g. Retry-After. */
    readonly headers?: Record<string, string>,
    /** More fields of the error body, for a client to act on (import_missing_dependencies' `missing`). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.type = ERROR_CODES[code].type;
  }
}

export const notFound = (what: string, param?: string): PlatformError =>
  new PlatformError('not_found', `No such ${what}`, param);

export const validationFailed = (message: string, param?: string): PlatformError =>
  new PlatformError('validation_failed', message, param);

export const alreadyExists = (what: string, param: string): PlatformError =>
  new PlatformError('already_exists', `${what} already exists`, param);

/** A dependency is down (a catalogue code marked `unavailable`): the same call may succeed later. */
export const isUnavailable = (code: ErrorCode): boolean => (ERROR_CODES[code] as ErrorCodeEntry).unavailable === true;

/** A rate limit or a server-side failure: unlike a refusal of the request itself, it may pass. */
export const mayPassLater = (err: PlatformError): boolean => err.type === 'rate_limit_error' || err.type === 'api_error';

export const RUN_CANCELED = 'run_canceled';

/**
 * A chat completion whose run failed or was canceled (API.md 7): the body carries the run's own error code
 * (RUN_ERROR, or `run_canceled`) with type `api_error`, which is why it is not a catalogue code.
 */
export class RunFailedError extends Error {
  /** `budget_error` for a run that crossed its token budget (API.md 16: Agentlify's clients read a 402), else `api_error`. */
  readonly type: 'api_error' | 'budget_error';
  constructor(
    /** The run's `error.code` (a RunErrorCode) or RUN_CANCELED. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.type = code === RUN_ERROR.budget_exceeded ? 'budget_error' : 'api_error';
  }
}

/** True for errors that mean "PostgreSQL is not reachable right now" (the API answers database_unavailable). */
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code ?? '';
  const message = err instanceof Error ? err.message : '';
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08003', '08006', '08001'].includes(code) ||
    /Connection terminated|connection timeout|timeout exceeded when trying to connect/i.test(message)
  );
}

/** Codes a run can end `failed` with; also the ApplicationFailure types thrown by workflow and activities. */
export const RUN_ERROR = {
  max_steps_exceeded: 'max_steps_exceeded',
  max_tool_calls_exceeded: 'max_tool_calls_exceeded',
  budget_exceeded: 'budget_exceeded',
  timeout: 'timeout',
  approval_expired: 'approval_expired',
  model_error: 'model_error',
  internal_error: 'internal_error',
} as const;

export type RunErrorCode = keyof typeof RUN_ERROR;
