// /v1/approvals and /v1/runs/:id/tools/resolve.
import type { Request, Router } from 'express';
import { approvalListQuerySchema, approveSchema, denySchema, resolveToolSchema } from '../../domain/approval';
import * as svc from '../../services/approvals';
import type { ServiceDeps } from '../../services/deps';
import { defineRoutes, type RouteDoc, READ_ALL } from '../route';
import { bindRunId } from '../middleware/request';
import { approvalObjectSchema } from '../../domain/api-objects';

export function approvalRoutes(deps: ServiceDeps, registry: RouteDoc[]): Router {
  const r = defineRoutes(registry);
  r.get('/approvals', { roles: READ_ALL, query: approvalListQuerySchema, response: { list: approvalObjectSchema } }, ({ p, query }) => svc.listApprovals(deps, p, query));
  r.get('/approvals/:id', { roles: READ_ALL, response: { object: approvalObjectSchema } }, ({ p, params }) => svc.getApproval(deps, p, params.id!));
  // A decision is about a run (unless the approval belongs to an action invocation): its request line says which.
  const decided = (req: Request) => <A extends { run_id: string | null }>(a: A): A => {
    if (a.run_id) bindRunId(req, a.run_id);
    return a;
  };
  r.post('/approvals/:id/approve', { audit: 'approval.approve', roles: ['approver'], body: approveSchema, response: { object: approvalObjectSchema } }, ({ req, p, params, body }) => svc.decide(deps, p, params.id!, { decision: 'approve', ...body }).then(decided(req)));
  r.post('/approvals/:id/deny', { audit: 'approval.deny', roles: ['approver'], body: denySchema, response: { object: approvalObjectSchema } }, ({ req, p, params, body }) => svc.decide(deps, p, params.id!, { decision: 'deny', ...body }).then(decided(req)));
  r.post('/runs/:id/tools/resolve', { audit: 'tool_call.resolve', roles: ['developer'], body: resolveToolSchema }, ({ p, params, body }) => svc.resolveToolCall(deps, p, params.id!, body));
  return r.router;
}
