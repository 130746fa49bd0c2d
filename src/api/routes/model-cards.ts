// /v1/model_cards: admins write, auditors read (a card's key and header values never come back out).
import type { Router } from 'express';
import { listQuerySchema } from '../../domain/common';
import { modelCardCreateSchema, modelCardUpdateSchema } from '../../domain/model-card';
import * as svc from '../../services/model-cards';
import type { ServiceDeps } from '../../services/deps';
import { ADMIN_ONLY, defineRoutes, type RouteDoc } from '../route';

const PROBE =
  'the provider is asked for the model once (GET {base_url}/models/{model} on the openai wire, {base_url}/v1/models/{model} on the anthropic one; no tokens; at most 6 s, through the private-network guard): ' +
  'a 401, 403 or 404, or no answer, is 400 model_card_probe_failed (param api_key, default_model or base_url; the message carries the status and the provider\'s message, secrets redacted) and nothing is stored; ' +
  'any other answer stores the card. "probe": false skips the call (offline set-ups). Aliases accepted: model_id for id, model for default_model, custom_headers for headers, provider oai/oai-compatible (openai) and ant/ant-compatible (anthropic); answers use the canonical names';
const PROBE_CREATE = `Creates a model card; unless it is echo, ${PROBE}`;
const PROBE_UPDATE = `Rotates api_key, base_url or headers, or changes the model, pricing or timeout; when the URL, key, headers or model change, ${PROBE}`;

export function modelCardRoutes(deps: ServiceDeps, registry: RouteDoc[]): Router {
  const { db, secrets } = deps;
  const r = defineRoutes(registry);
  r.post('/model_cards', { audit: 'model_card.create', roles: ADMIN_ONLY, body: modelCardCreateSchema, status: 201, summary: PROBE_CREATE }, ({ p, body }) => svc.createModelCard(deps, p, body));
  r.get('/model_cards', { roles: ['auditor'], query: listQuerySchema }, ({ p, query }) => svc.listModelCards(db, secrets, p, query));
  r.get('/model_cards/:id', { roles: ['auditor'] }, ({ p, params }) => svc.getModelCard(db, secrets, p, params.id!));
  r.post('/model_cards/:id', { audit: 'model_card.update', roles: ADMIN_ONLY, body: modelCardUpdateSchema, summary: PROBE_UPDATE }, ({ p, params, body }) => svc.updateModelCard(deps, p, params.id!, body));
  r.delete('/model_cards/:id', { audit: 'model_card.delete', roles: ADMIN_ONLY, summary: 'Deletes a model card; 409 model_card_in_use while the current version of an agent (primary or fallback) or a memory store uses it' }, ({ p, params }) => svc.deleteModelCard(db, p, params.id!));
  return r.router;
}
