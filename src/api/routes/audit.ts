// /v1/audit_log and /v1/audit_log/verify (API.md 8).
import type { Router } from 'express';
import { z } from 'zod';
import { listAuditLog, verifyAuditLog } from '../../services/audit';
import type { ServiceDeps } from '../../services/deps';
import { defineRoutes, type RouteDoc } from '../route';

const auditQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(100),
  after: z.coerce.number().int().min(0).optional(),
  type: z.string().min(1).max(100).optional(),
  target: z.string().min(1).max(200).optional(),
});

export function auditRoutes(deps: ServiceDeps, registry: RouteDoc[]): Router {
  const r = defineRoutes(registry);
  r.get('/audit_log', { roles: ['auditor'], query: auditQuerySchema }, ({ p, query }) => listAuditLog(deps, p, query));
  r.get(
    '/audit_log/verify',
    {
      roles: ['auditor'],
      summary:
        'Walks the chain: each hash is an HMAC-SHA256 of prev_hash + the canonical JSON record, keyed from AP_MASTER_KEY ' +
        '(records from before the key keep SHA-256 and end at an audit.chain_keyed record); an edit, deletion or reorder gives first_bad_seq',
    },
    ({ p }) => verifyAuditLog(deps, p),
  );
  return r.router;
}
