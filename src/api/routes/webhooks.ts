// /v1/webhooks (API.md 6).
import type { Router } from 'express';
import { listQuerySchema } from '../../domain/common';
import { webhookCreateSchema } from '../../domain/webhook';
import * as svc from '../../services/webhooks';
import type { ServiceDeps } from '../../services/deps';
import { ADMIN_ONLY, defineRoutes, type RouteDoc } from '../route';

export function webhookRoutes(deps: ServiceDeps, registry: RouteDoc[]): Router {
  const r = defineRoutes(registry);
  r.post('/webhooks', { audit: 'webhook.create', roles: ADMIN_ONLY, body: webhookCreateSchema, status: 201 }, ({ p, body }) => svc.createWebhook(deps, p, body));
  r.get('/webhooks', { roles: ['auditor'], query: listQuerySchema }, ({ p, query }) => svc.listWebhooks(deps, p, query));
  r.get('/webhooks/:id', { roles: ['auditor'] }, ({ p, params }) => svc.getWebhook(deps, p, params.id!));
  r.delete('/webhooks/:id', { audit: 'webhook.delete', roles: ADMIN_ONLY }, ({ p, params }) => svc.deleteWebhook(deps, p, params.id!));
  r.post('/webhooks/:id/rotate_secret', { audit: 'webhook.rotate_secret', roles: ADMIN_ONLY }, ({ p, params }) => svc.rotateSecret(deps, p, params.id!));
  r.get('/webhooks/:id/deliveries', { roles: ['auditor'], query: listQuerySchema }, ({ p, params, query }) => svc.listDeliveries(deps, p, params.id!, query));
  return r.router;
}
