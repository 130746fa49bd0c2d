// /v1/files (API.md 11): multipart upload (streamed, size-limited), metadata, content, list, delete.
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { Request, Response, Router } from 'express';
import { fileListQuerySchema, fileUploadFormSchema } from '../../domain/file';
import * as svc from '../../services/files';
import type { ServiceDeps } from '../../services/deps';
import { defineRoutes, READ_ALL, type RouteDoc } from '../route';
import { formEvents } from '../multipart';
import { FORM_OVERHEAD_BYTES, withUploadBody } from '../upload';

/** RFC 6266: an ASCII fallback and the UTF-8 name; always an attachment, never rendered on this origin. */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

export function fileRoutes(deps: ServiceDeps, registry: RouteDoc[]): Router {
  const r = defineRoutes(registry);

  r.post(
    '/files',
    { audit: 'file.create', roles: ['developer'], status: 201, multipart: fileUploadFormSchema, summary: `Upload a file (multipart/form-data: file, session_id?, purpose?); at most AP_MAX_FILE_BYTES (default 25 MiB), else 413; the whole body must arrive within AP_UPLOAD_BODY_TIMEOUT_MS (400 request_timeout); at most AP_UPLOADS_PER_KEY uploads in flight per key (429 rate_limited)` },
    // The body is read whole before the service takes a database connection (src/api/upload.ts).
    ({ req, p }) =>
      withUploadBody(deps, req, p, deps.config.maxFileBytes + FORM_OVERHEAD_BYTES, (body) => svc.uploadFile(deps, p, formEvents(body, req.headers['content-type']))),
  );
  r.get('/files', { roles: READ_ALL, query: fileListQuerySchema, summary: 'Files, newest first' }, ({ p, query }) => svc.listFiles(deps, p, query));
  r.get('/files/:id', { roles: READ_ALL }, ({ p, params }) => svc.getFile(deps, p, params.id!));
  r.get('/files/:id/content', { roles: READ_ALL, summary: "The file's bytes, with its Content-Type, as an attachment" }, async ({ p, params, res }) => {
    const { file, pieces } = await svc.openContent(deps, p, params.id!);
    // setHeader, not res.type(): Express would add a charset the file may not have.
    res.status(200);
    res.setHeader('Content-Type', file.content_type);
    res.setHeader('Content-Length', String(file.bytes));
    res.setHeader('Content-Disposition', contentDisposition(file.filename));
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
    await pipeline(Readable.from(pieces), res);
    return undefined;
  });
  r.delete('/files/:id', { audit: 'file.delete', roles: ['developer'] }, ({ p, params }) => svc.deleteFile(deps, p, params.id!));
  return r.router;
}
