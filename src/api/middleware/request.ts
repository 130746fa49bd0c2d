// Request id (echoed or generated, on every response) and the per-request child logger: it carries
// request_id, then workspace_id (auth) and run_id (routes about a run), and so does the request line.
import crypto from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { Logger } from 'pino';

const VALID_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestContext(log: Logger, metrics?: { record(method: string, route: string, status: number): void }): RequestHandler {
  return (req, res, next) => {
    const given = req.header('x-request-id');
    const id = given && VALID_ID.test(given) ? given : `req_${crypto.randomUUID().replace(/-/g, '')}`;
    req.id = id;
    res.setHeader('X-Request-Id', id);
    req.log = log.child({ request_id: id });
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      // The route template, not the path: ids would make a label per object. Routes registered through
      // api/route.ts noted theirs while they ran (here, after an error, req.baseUrl no longer has /v1).
      const noted: unknown = res.locals.routeTemplate;
      const route = typeof noted === 'string' ? noted : req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      metrics?.record(req.method, route, res.statusCode);
      // The workspace is bound to req.log by auth; named here only if it is not (a JSON key appears once).
      const workspace = req.principal && !('workspace_id' in req.log.bindings()) ? { workspace_id: req.principal.workspace_id } : {};
      req.log.info(
        { method: req.method, path: req.route ? route : req.path, status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6, ...workspace },
        'request',
      );
    });
    next();
  };
}

/** Marks the request as one about a run: every later line of it, the request line too, carries run_id. */
export function bindRunId(req: Request, runId: string): void {
  if (req.log.bindings().run_id === runId) return;
  req.log = req.log.child({ run_id: runId });
}
