// One error middleware: zod errors, PlatformErrors, body-parser failures and everything unexpected become
// the documented body (API.md 1.2). The unexpected is a 500 with the request id; details only in the log.
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { PlatformError, RunFailedError, isConnectionError } from '../../domain/errors';
import { httpStatus } from '../error-status';
import { drainBody } from '../drain';

export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');
}

export function fromZod(err: z.ZodError, prefix?: string): PlatformError {
  const issue = err.issues[0]!;
  const param = formatPath(prefix ? [prefix, ...issue.path] : issue.path);
  let message = issue.message;
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) message = 'is required';
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys: string[] }).keys;
    return new PlatformError('validation_failed', `Unknown field ${formatPath([...issue.path, keys[0]!])}`, formatPath([...issue.path, keys[0]!]));
  }
  return new PlatformError('validation_failed', param ? `${param} ${message}` : message, param || undefined);
}

export const notFoundRoute: RequestHandler = (req, _res, next) => {
  next(new PlatformError('not_found', `No route ${req.method} ${req.path}`));
};

export const errorHandler: ErrorRequestHandler = (err: unknown, req, res, _next) => {
  const requestId = res.getHeader('x-request-id') as string | undefined;
  let apiError: PlatformError | RunFailedError;
  const e = err as { type?: string; status?: number };
  if (err instanceof PlatformError || err instanceof RunFailedError) apiError = err;
  else if (err instanceof z.ZodError) apiError = fromZod(err);
  else if (e?.type === 'entity.parse.failed') apiError = new PlatformError('invalid_json', 'The request body is not valid JSON');
  // The router could not percent-decode a path parameter (`/v1/agents/%ff`).
  else if (err instanceof URIError && e.status === 400) apiError = new PlatformError('validation_failed', 'The path is not validly percent-encoded');
  else if (e?.type === 'entity.too.large') apiError = new PlatformError('payload_too_large', 'The request body exceeds 1 MiB');
  else if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') {
    apiError = new PlatformError('unsupported_media_type', 'Unsupported request encoding');
  } else if (isConnectionError(err)) {
    apiError = new PlatformError('database_unavailable', 'The database is not reachable; retry shortly', undefined, { 'Retry-After': '5' });
  } else {
    req.log?.error({ err }, 'unhandled error');
    apiError = new PlatformError('internal_error', `Internal error; quote request id ${requestId ?? 'unknown'} when reporting it`);
  }
  if (res.headersSent) {
    res.end();
    return;
  }
  // The rest of an unread body first, so that the client is still listening for this answer.
  void drainBody(req, res).then(() => send(res, apiError, requestId));
};

function send(res: Response, apiError: PlatformError | RunFailedError, requestId: string | undefined): void {
  if (res.headersSent || res.destroyed) return;
  const { param, headers, details } = apiError instanceof PlatformError ? apiError : {};
  for (const [k, v] of Object.entries(headers ?? {})) res.setHeader(k, v);
  res.status(httpStatus(apiError)).json({
    error: {
      ...details,
      type: apiError.type,
      code: apiError.code,
      message: apiError.message,
      ...(param ? { param } : {}),
      request_id: requestId,
    },
  });
}
