// /v1/environments (API.md 11): admin writes; developers and auditors read, like tools.
import type { Router } from 'express';
import { listQuerySchema } from '../../domain/common';
import { environmentCreateSchema, environmentUpdateSchema } from '../../domain/environment';
import * as svc from '../../services/environments';
import type { ServiceDeps } from '../../services/deps';
import { ADMIN_ONLY, defineRoutes, type RouteDoc, READ_DEFINITIONS } from '../route';

export function environmentRoutes({ db, config }: ServiceDeps, registry: RouteDoc[]): Router {
  const open = config.allowPrivateNetwork;
  const r = defineRoutes(registry);
  r.post('/environments', { audit: 'environment.create', roles: ADMIN_ONLY, body: environmentCreateSchema, status: 201 }, ({ p, body }) => svc.createEnvironment(db, p, body, open));
  r.get('/environments', { roles: READ_DEFINITIONS, query: listQuerySchema }, ({ p, query }) => svc.listEnvironments(db, p, query));
  r.get('/environments/:id', { roles: READ_DEFINITIONS, summary: 'An environment by id or name' }, ({ p, params }) => svc.getEnvironment(db, p, params.id!));
  r.patch('/environments/:id', { audit: 'environment.update', roles: ADMIN_ONLY, body: environmentUpdateSchema }, ({ p, params, body }) => svc.updateEnvironment(db, p, params.id!, body, open));
  r.delete('/environments/:id', { audit: 'environment.delete', roles: ADMIN_ONLY, summary: 'Deletes an environment; 409 environment_in_use while a session names it' }, ({ p, params }) => svc.deleteEnvironment(db, p, params.id!));
  return r.router;
}
