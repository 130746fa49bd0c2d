// /v1/skills (API.md 11): multipart upload (id, display_title, description, files), read, list, one
// file's bytes, delete. Admin writes; developers and auditors read, like tools.
import type { Router } from 'express';
import { listQuerySchema } from '../../domain/common';
import { MAX_SKILL_BYTES, skillUploadFormSchema } from '../../domain/skill';
import * as svc from '../../services/skills';
import type { ServiceDeps } from '../../services/deps';
import { ADMIN_ONLY, defineRoutes, READ_DEFINITIONS, type RouteDoc } from '../route';
import { formEvents } from '../multipart';
import { FORM_OVERHEAD_BYTES, withUploadBody } from '../upload';
import { contentDisposition } from './files';

export function skillRoutes(deps: ServiceDeps, registry: RouteDoc[]): Router {
  const r = defineRoutes(registry);
  r.post(
    '/skills',
    {
      audit: 'skill.create',
      roles: ADMIN_ONLY,
      status: 201,
      multipart: skillUploadFormSchema,
      summary: 'Upload a skill (multipart/form-data: id, display_title, description, files); 409 already_exists for a taken or built-in id, 400 unsupported_file for a file that is not UTF-8 text, 413 past the size limits, 400 request_timeout for a body slower than AP_UPLOAD_BODY_TIMEOUT_MS, 429 past AP_UPLOADS_PER_KEY uploads in flight per key',
    },
    // Read whole before anything is checked against the database, like files (src/api/upload.ts).
    ({ req, p }) =>
      withUploadBody(deps, req, p, MAX_SKILL_BYTES + FORM_OVERHEAD_BYTES, (body) => svc.uploadSkill(deps, p, formEvents(body, req.headers['content-type'], svc.SKILL_FORM_LIMITS))),
  );
  r.get('/skills', { roles: READ_DEFINITIONS, query: listQuerySchema, summary: 'Built-in and workspace skills, in id order' }, ({ p, query }) => svc.listSkills(deps, p, query));
  r.get('/skills/:id', { roles: READ_DEFINITIONS }, ({ p, params }) => svc.getSkill(deps, p, params.id!));
  r.get('/skills/:id/files/:filename', { roles: READ_DEFINITIONS, summary: "One skill file's bytes, as an attachment" }, async ({ p, params, res }) => {
    const f = await svc.openSkillFile(deps, p, params.id!, params.filename!);
    res.status(200);
    res.setHeader('Content-Type', f.content_type);
    res.setHeader('Content-Disposition', contentDisposition(f.filename));
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
    res.end(f.content);
    return undefined;
  });
  r.delete('/skills/:id', { audit: 'skill.delete', roles: ADMIN_ONLY, summary: 'Deletes a skill; 409 builtin_skill for a built-in one' }, ({ p, params }) => svc.deleteSkill(deps, p, params.id!));
  return r.router;
}
