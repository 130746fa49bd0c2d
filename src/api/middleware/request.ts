// Request id (echoed or generated, on every response) and the per-request child logger.
import crypto from 'node:crypto';
import type { RequestHandler } from 'express';
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
      // The route template, not the path: ids would make a label per object.
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      metrics?.record(req.method, route, res.statusCode);
      req.log.info(
        { method: req.method, path: req.route ? `${req.baseUrl}${String(req.route.path)}` : req.path, status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6, workspace_id: req.principal?.workspace_id },
        'request',
      );
    });
    next();
  };
}
