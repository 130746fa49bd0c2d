// The one error model of the API (API.md 1.2) and the codes a run can fail with (API.md 3.1).

export const ERROR_TYPES = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'budget_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'conflict_error',
  413: 'invalid_request_error',
  415: 'invalid_request_error',
  422: 'invalid_request_error',
  429: 'rate_limit_error',
  500: 'api_error',
  503: 'api_error',
} as const;

export type ErrorStatus = keyof typeof ERROR_TYPES;

export class ApiError extends Error {
  readonly type: string;
  constructor(
    readonly status: ErrorStatus,
    readonly code: string,
    message: string,
    readonly param?: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.type = ERROR_TYPES[status];
  }
}

export const notFound = (what: string, param?: string): ApiError =>
  new ApiError(404, 'not_found', `No such ${what}`, param);

export const validationFailed = (message: string, param?: string): ApiError =>
  new ApiError(400, 'validation_failed', message, param);

export const alreadyExists = (what: string, param: string): ApiError =>
  new ApiError(409, 'already_exists', `${what} already exists`, param);

/** True for errors that mean "PostgreSQL is not reachable right now" (API answers 503). */
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
