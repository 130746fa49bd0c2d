// /v1/approvals and /v1/runs/:id/tools/resolve.
import type { Router } from 'express';
import { approvalListQuerySchema, approveSchema, denySchema, resolveToolSchema } from '../../domain/approval';
import * as svc from '../../services/approvals';
import type { ServiceDeps } from '../../services/deps';
import { defineRoutes, type RouteDoc, READ_ALL } from '../route';

export function approvalRoutes(deps: ServiceDeps, registry: RouteDoc[]): Router {
  const r = defineRoutes(registry);
  r.get('/approvals', { roles: READ_ALL, query: approvalListQuerySchema }, ({ p, query }) => svc.listApprovals(deps, p, query));
  r.get('/approvals/:id', { roles: READ_ALL }, ({ p, params }) => svc.getApproval(deps, p, params.id!));
  r.post('/approvals/:id/approve', { audit: 'approval.approve', roles: ['approver'], body: approveSchema }, ({ p, params, body }) => svc.decide(deps, p, params.id!, { decision: 'approve', ...body }));
  r.post('/approvals/:id/deny', { audit: 'approval.deny', roles: ['approver'], body: denySchema }, ({ p, params, body }) => svc.decide(deps, p, params.id!, { decision: 'deny', ...body }));
  r.post('/runs/:id/tools/resolve', { audit: 'tool_call.resolve', roles: ['developer'], body: resolveToolSchema }, ({ p, params, body }) => svc.resolveToolCall(deps, p, params.id!, body));
  return r.router;
}
