// The one place an error code becomes an HTTP status (API.md 1.2): by its catalogue type, except for the
// codes of a type that spans several statuses. Nothing below src/api picks a status.
import { ERROR_CODES, type ErrorCode, type ErrorType } from '../domain/error-codes';
import { PlatformError, RunFailedError, isUnavailable } from '../domain/errors';

export type ErrorStatus = 400 | 401 | 402 | 403 | 404 | 408 | 409 | 413 | 415 | 422 | 429 | 500 | 503;

const STATUS_OF_TYPE: Record<ErrorType, ErrorStatus> = {
  invalid_request_error: 400,
  authentication_error: 401,
  budget_error: 402,
  permission_error: 403,
  not_found_error: 404,
  conflict_error: 409,
  rate_limit_error: 429,
  api_error: 500,
};

/** invalid_request_error answers 400 but for these; an `unavailable` api_error answers 503. */
const STATUS_OF_CODE: Partial<Record<ErrorCode, ErrorStatus>> = {
  payload_too_large: 413,
  unsupported_media_type: 415,
  idempotency_key_reused: 422,
};

export function statusOfCode(code: ErrorCode): ErrorStatus {
  return STATUS_OF_CODE[code] ?? (isUnavailable(code) ? 503 : STATUS_OF_TYPE[ERROR_CODES[code].type]);
}

/**
 * A failed run behind a chat completion (RunFailedError): 408 when it ran out of time, 402 when it crossed
 * its token budget (API.md 16, the statuses Agentlify's clients expect), else 500.
 */
export function httpStatus(err: PlatformError | RunFailedError): ErrorStatus {
  if (err instanceof PlatformError) return statusOfCode(err.code);
  if (err.code === 'timeout') return 408;
  return err.type === 'budget_error' ? 402 : 500;
}
