// /v1/model_cards: admins write, auditors read (a card's key and header values never come back out).
import type { Router } from 'express';
import { listQuerySchema } from '../../domain/common';
import { modelCardCreateSchema, modelCardUpdateSchema } from '../../domain/model-card';
import * as svc from '../../services/model-cards';
import type { ServiceDeps } from '../../services/deps';
import { ADMIN_ONLY, defineRoutes, type RouteDoc } from '../route';

export function modelCardRoutes({ db, secrets, config }: ServiceDeps, registry: RouteDoc[]): Router {
  const open = config.allowPrivateNetwork;
  const r = defineRoutes(registry);
  r.post('/model_cards', { audit: 'model_card.create', roles: ADMIN_ONLY, body: modelCardCreateSchema, status: 201 }, ({ p, body }) => svc.createModelCard(db, secrets, p, body, open));
  r.get('/model_cards', { roles: ['auditor'], query: listQuerySchema }, ({ p, query }) => svc.listModelCards(db, secrets, p, query));
  r.get('/model_cards/:id', { roles: ['auditor'] }, ({ p, params }) => svc.getModelCard(db, secrets, p, params.id!));
  r.post('/model_cards/:id', { audit: 'model_card.update', roles: ADMIN_ONLY, body: modelCardUpdateSchema }, ({ p, params, body }) => svc.updateModelCard(db, secrets, p, params.id!, body, open));
  r.delete('/model_cards/:id', { audit: 'model_card.delete', roles: ADMIN_ONLY, summary: 'Deletes a model card; 409 model_card_in_use while the current version of an agent (primary or fallback) or a memory store uses it' }, ({ p, params }) => svc.deleteModelCard(db, p, params.id!));
  return r.router;
}
