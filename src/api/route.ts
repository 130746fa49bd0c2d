// Thin route handlers: check roles, parse query and body with the concept's zod schema, call a service,
// send its result. Handlers never see raw req.body.
import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { z } from 'zod';
import { PlatformError, isConnectionError } from '../domain/errors';
import { hasRole, type Principal, type Role } from '../domain/workspace';
import { fromZod } from './middleware/errors';
import { checkInput } from './input';
import { bindRunId } from './middleware/request';
import type { Idempotency } from './middleware/idempotency';
import type { KeySlots } from '../services/limits';

export interface HandlerContext<B, Q> {
  req: Request;
  res: Response;
  p: Principal;
  body: B;
  query: Q;
  params: Record<string, string>;
  /**
   * Writes the route's audit record now (before a long wait), with `data` beside the redacted body;
   * otherwise it is written on success.
   */
  audit(target?: string, data?: Record<string, unknown>): Promise<void>;
}

interface Options<B extends z.ZodType, Q extends z.ZodType> {
  /** Roles allowed besides admin (admin may do everything in its workspace). */
  roles: Role[];
  /** Also answers with text/event-stream (a long-lived request, capped per key). */
  sse?: boolean;
  /** Audit-log action recorded when the call succeeds (API.md 8); a function of the body may say none (a dry run). */
  audit?: string | ((body: z.infer<B>) => string | undefined);
  body?: B;
  query?: Q;
  status?: number;
}

export function handle<B extends z.ZodType = z.ZodUnknown, Q extends z.ZodType = z.ZodUnknown>(
  opts: Options<B, Q>,
  fn: (ctx: HandlerContext<z.infer<B>, z.infer<Q>>) => Promise<unknown>,
): RequestHandler {
  return async (req, res) => {
    const routePath: unknown = req.route?.path;
    // The template with its mount point, taken now: an error reaches the app's handler with req.baseUrl reset.
    res.locals.routeTemplate = `${req.baseUrl}${String(routePath)}`;
    // A route about one run (/runs/:id/...): each of its log lines carries run_id.
    const runId: unknown = req.params.id;
    if (typeof routePath === 'string' && routePath.startsWith('/runs/:id') && typeof runId === 'string') bindRunId(req, runId);
    const p = req.principal!;
    if (!hasRole(p, ...opts.roles)) {
      throw new PlatformError('permission_denied', `This call needs one of the roles: ${['admin', ...opts.roles].join(', ')}`);
    }
    checkInput(req.params);
    checkInput(req.query);
    let body: unknown;
    if (opts.body) {
      // express.json parsed nothing: either there is no body (then it is {}) or it is not JSON.
      if (req.body === undefined && (Number(req.headers['content-length']) > 0 || req.headers['transfer-encoding'] !== undefined)) {
        throw new PlatformError('unsupported_media_type', 'The request body must be application/json');
      }
      checkInput(req.body);
      const parsed = opts.body.safeParse(req.body === undefined ? {} : req.body);
      if (!parsed.success) throw fromZod(parsed.error);
      body = parsed.data;
    }
    let query: unknown;
    if (opts.query) {
      const parsed = opts.query.safeParse(req.query);
      if (!parsed.success) throw fromZod(parsed.error);
      query = parsed.data;
    }
    if (isLongLived(req, opts, body)) res.once('close', (req.app.locals.longRequests as KeySlots).acquire(p.key_id));
    // After the role check, never before: a stored response may hold a secret shown once (issue 17 item 1).
    if ((await (req.app.locals.idempotency as Idempotency)(req, res)) === 'replayed') return;
    const params = req.params as Record<string, string>;
    let audited = false;
    const audit = async (target?: string, extra?: Record<string, unknown>): Promise<void> => {
      const action = typeof opts.audit === 'function' ? opts.audit(body as z.infer<B>) : opts.audit;
      if (!action || audited) return;
      audited = true;
      await untilStored(() => (req.app.locals.audit as AuditSink)({
        workspace_id: p.workspace_id,
        actor: { key_id: p.key_id, name: p.key_name, roles: p.roles },
        action,
        target: target ?? params.id ?? params.name ?? null,
        request_id: req.id,
        data: { ...(Object.keys(params).length ? { params } : {}), ...(body !== undefined ? { body: redactForAudit(body) } : {}), ...extra },
      }));
    };
    const result = await fn({ req, res, p, body: body as z.infer<B>, query: query as z.infer<Q>, params, audit });
    if (res.statusCode < 400) {
      const id = (result as { id?: unknown } | undefined)?.id;
      await audit(typeof id === 'string' ? id : undefined);
    }
    if (result !== undefined && !res.headersSent) res.status(opts.status ?? res.statusCode).json(result);
  };
}

/**
 * Requests that stay open until a run ends (capped per key, services/limits.ts): an event stream (a GET
 * of an `sse` route asking for text/event-stream, or its `/stream` variant that always answers SSE), a
 * create with `wait` or `stream`, and every POST of an `sse` route (a chat completion waits for its run).
 */
function isLongLived(req: Request, opts: { sse?: boolean }, body: unknown): boolean {
  const b = body as { wait?: unknown; stream?: unknown } | undefined;
  if (b && typeof b === 'object' && (b.wait === true || b.stream === true)) return true;
  if (!opts.sse) return false;
  if (req.method === 'POST') return true;
  return (req.header('accept') ?? '').includes('text/event-stream') || String(req.route?.path).endsWith('/stream');
}

/**
 * The audit record is written after the action happened (a run created and started, say): a database
 * that is away for a moment must not turn a done action into a 503 that invites a duplicate, so the
 * write is retried for up to 15 s while the error is a lost connection.
 */
async function untilStored(write: () => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    try {
      await write();
      return;
    } catch (err) {
      if (!isConnectionError(err) || Date.now() + delay > deadline) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

export type AuditSink = (entry: {
  workspace_id: string;
  actor: { key_id: string | null; name: string; roles: string[] };
  action: string;
  target: string | null;
  request_id: string | null;
  data: Record<string, unknown>;
}) => Promise<unknown>;

const SECRET_FIELDS = new Set(['api_key', 'value', 'secret', 'headers', 'key', 'output', 'arguments', 'messages', 'input', 'authorization', 'token', 'password', 'error', 'client_secret', 'access_token', 'refresh_token', 'code_verifier', 'text', 'query', 'comment']);

/**
 * The audit log records what was done, not the secrets or content it carried (it is append-only, so
 * `ap purge` cannot reach it; a feedback comment is an end user's words): at any depth, and URLs lose
 * query and credentials.
 */
function redactForAudit(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactForAudit);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, SECRET_FIELDS.has(k.toLowerCase()) ? '[omitted]' : redactForAudit(v)]));
  }
  if (typeof value === 'string' && /^https?:\/\//.test(value)) {
    try {
      const u = new URL(value);
      return `${u.protocol}//${u.host}${u.pathname}`;
    } catch {
      return value;
    }
  }
  return value;
}

export const READ_ALL: Role[] = ['developer', 'approver', 'auditor'];
export const READ_DEFINITIONS: Role[] = ['developer', 'auditor'];
export const ADMIN_ONLY: Role[] = [];

/** A documented success body: one object, or a list envelope of them (`{object: "list", data, ...}`). */
export type ResponseDoc = { object: z.ZodType } | { list: z.ZodType };

/** What /openapi.json is generated from: every route, with the zod schemas that validate it. */
export interface RouteDoc {
  method: 'get' | 'post' | 'patch' | 'delete';
  path: string;
  roles: Role[];
  body?: z.ZodType;
  query?: z.ZodType;
  status?: number;
  summary?: string;
  /** Only an admin key of the `default` workspace (the operator's) may call it. */
  operator?: boolean;
  /** Also answers with text/event-stream. */
  sse?: boolean;
  /** A multipart/form-data body (the route reads the stream itself), documented by this schema. */
  multipart?: z.ZodType;
  /** The success body, for /openapi.json: an object schema with a meta id, or a list of such objects. */
  response?: ResponseDoc;
  /** Called without an API key (a browser redirect back from an OAuth authorization server). */
  public?: boolean;
}

/** A router whose every route is recorded for the OpenAPI document as it is registered. */
export function defineRoutes(registry: RouteDoc[], prefix = '/v1') {
  const router = Router();
  const add =
    (method: RouteDoc['method']) =>
    <B extends z.ZodType = z.ZodUnknown, Q extends z.ZodType = z.ZodUnknown>(
      path: string,
      opts: Options<B, Q> & { summary?: string; operator?: boolean; multipart?: z.ZodType; response?: ResponseDoc },
      fn: (ctx: HandlerContext<z.infer<B>, z.infer<Q>>) => Promise<unknown>,
    ): void => {
      registry.push({ method, path: `${prefix}${path}`, roles: opts.roles, body: opts.body, query: opts.query, status: opts.status, summary: opts.summary, sse: opts.sse, operator: opts.operator, multipart: opts.multipart, response: opts.response });
      router[method](path, handle(opts, fn));
    };
  return { router, get: add('get'), post: add('post'), patch: add('patch'), delete: add('delete') };
}
