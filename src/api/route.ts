// Thin route handlers: check roles, parse query and body with the concept's zod schema, call a service,
// send its result. Handlers never see raw req.body.
import type { Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import { ApiError } from '../domain/errors';
import { hasRole, type Principal, type Role } from '../domain/workspace';
import { fromZod } from './middleware/errors';

export interface HandlerContext<B, Q> {
  req: Request;
  res: Response;
  p: Principal;
  body: B;
  query: Q;
  params: Record<string, string>;
}

interface Options<B extends z.ZodType, Q extends z.ZodType> {
  /** Roles allowed besides admin (admin may do everything in its workspace). */
  roles: Role[];
  body?: B;
  query?: Q;
  status?: number;
}

export function handle<B extends z.ZodType = z.ZodUnknown, Q extends z.ZodType = z.ZodUnknown>(
  opts: Options<B, Q>,
  fn: (ctx: HandlerContext<z.infer<B>, z.infer<Q>>) => Promise<unknown>,
): RequestHandler {
  return async (req, res) => {
    const p = req.principal!;
    if (!hasRole(p, ...opts.roles)) {
      throw new ApiError(403, 'permission_denied', `This call needs one of the roles: ${['admin', ...opts.roles].join(', ')}`);
    }
    let body: unknown;
    if (opts.body) {
      const parsed = opts.body.safeParse(req.body ?? {});
      if (!parsed.success) throw fromZod(parsed.error);
      body = parsed.data;
    }
    let query: unknown;
    if (opts.query) {
      const parsed = opts.query.safeParse(req.query);
      if (!parsed.success) throw fromZod(parsed.error);
      query = parsed.data;
    }
    const result = await fn({ req, res, p, body: body as z.infer<B>, query: query as z.infer<Q>, params: req.params as Record<string, string> });
    if (result !== undefined && !res.headersSent) res.status(opts.status ?? res.statusCode).json(result);
  };
}

export const READ_ALL: Role[] = ['developer', 'approver', 'auditor'];
export const READ_DEFINITIONS: Role[] = ['developer', 'auditor'];
export const ADMIN_ONLY: Role[] = [];
