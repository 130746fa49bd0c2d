// /v1/vault, by name: admins write, auditors read (names and dates only, never a value).
import type { Router } from 'express';
import { listQuerySchema } from '../../domain/common';
import { vaultCreateSchema, vaultUpdateSchema } from '../../domain/vault';
import * as svc from '../../services/vault';
import type { ServiceDeps } from '../../services/deps';
import { ADMIN_ONLY, defineRoutes, type RouteDoc } from '../route';

export function vaultRoutes({ db, secrets }: ServiceDeps, registry: RouteDoc[]): Router {
  const r = defineRoutes(registry);
  r.post('/vault', { audit: 'vault.create', roles: ADMIN_ONLY, body: vaultCreateSchema, status: 201 }, ({ p, body }) => svc.createVault(db, secrets, p, body.name, body.value));
  r.get('/vault', { roles: ['auditor'], query: listQuerySchema }, ({ p, query }) => svc.listVault(db, p, query));
  r.get('/vault/:name', { roles: ['auditor'] }, ({ p, params }) => svc.getVault(db, p, params.name!));
  for (const method of ['patch', 'post'] as const) {
    r[method]('/vault/:name', { audit: 'vault.update', roles: ADMIN_ONLY, body: vaultUpdateSchema }, ({ p, params, body }) => svc.updateVault(db, secrets, p, params.name!, body.value));
  }
  r.delete('/vault/:name', { audit: 'vault.delete', roles: ADMIN_ONLY }, ({ p, params }) => svc.deleteVault(db, p, params.name!));
  return r.router;
}
