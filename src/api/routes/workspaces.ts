// /v1/workspaces and /v1/api_keys.
import type { Router } from 'express';
import { listQuerySchema } from '../../domain/common';
import { apiKeyCreateSchema, workspaceCreateSchema, workspaceLimitsSchema } from '../../domain/workspace';
import * as svc from '../../services/workspaces';
import type { ServiceDeps } from '../../services/deps';
import { ADMIN_ONLY, defineRoutes, type RouteDoc, READ_ALL } from '../route';

export function workspaceRoutes({ db }: ServiceDeps, registry: RouteDoc[]): Router {
  const r = defineRoutes(registry);
  r.post('/workspaces', { audit: 'workspace.create', roles: ADMIN_ONLY, operator: true, body: workspaceCreateSchema, status: 201 }, ({ p, body }) => svc.createWorkspace(db, p, body.name));
  r.get('/workspaces/current', { roles: READ_ALL }, ({ p }) => svc.currentWorkspace(db, p));
  r.patch('/workspaces/:id', { audit: 'workspace.limits_update', roles: ADMIN_ONLY, operator: true, body: workspaceLimitsSchema }, ({ p, params, body }) => svc.updateWorkspaceLimits(db, p, params.id!, body));
  r.post('/api_keys', { audit: 'api_key.create', roles: ADMIN_ONLY, body: apiKeyCreateSchema, status: 201 }, ({ p, body }) => svc.createApiKey(db, p, body));
  r.get('/api_keys', { roles: ['auditor'], query: listQuerySchema }, ({ p, query }) => svc.listApiKeys(db, p, query));
  r.delete('/api_keys/:id', { audit: 'api_key.revoke', roles: ADMIN_ONLY }, ({ p, params }) => svc.deleteApiKey(db, p, params.id!));
  return r.router;
}
