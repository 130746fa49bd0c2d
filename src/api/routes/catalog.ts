// /v1/model_cards, /v1/agents, /v1/tools, /v1/vault.
import type { Router } from 'express';
import { z } from 'zod';
import { listQuerySchema } from '../../domain/common';
import { agentCreateSchema, agentUpdateSchema } from '../../domain/agent';
import { modelCardCreateSchema, modelCardUpdateSchema } from '../../domain/model-card';
import { toolCreateSchema, toolUpdateSchema } from '../../domain/tool';
import { vaultCreateSchema, vaultUpdateSchema } from '../../domain/vault';
import * as svc from '../../services/catalog';
import type { ServiceDeps } from '../../services/deps';
import { ADMIN_ONLY, defineRoutes, type RouteDoc, READ_DEFINITIONS } from '../route';

const versionParam = z.coerce.number().int().min(1).max(1_000_000);

export function catalogRoutes({ db, secrets, config }: ServiceDeps, registry: RouteDoc[]): Router {
  const open = config.allowPrivateNetwork;
  const r = defineRoutes(registry);
  r.post('/model_cards', { audit: 'model_card.create', roles: ADMIN_ONLY, body: modelCardCreateSchema, status: 201 }, ({ p, body }) => svc.createModelCard(db, secrets, p, body, open));
  r.get('/model_cards', { roles: ['auditor'], query: listQuerySchema }, ({ p, query }) => svc.listModelCards(db, secrets, p, query));
  r.get('/model_cards/:id', { roles: ['auditor'] }, ({ p, params }) => svc.getModelCard(db, secrets, p, params.id!));
  r.post('/model_cards/:id', { audit: 'model_card.update', roles: ADMIN_ONLY, body: modelCardUpdateSchema }, ({ p, params, body }) => svc.updateModelCard(db, secrets, p, params.id!, body, open));
  r.delete('/model_cards/:id', { audit: 'model_card.delete', roles: ADMIN_ONLY, summary: 'Deletes a model card; 409 model_card_in_use while the current version of an agent (primary or fallback) or a memory store uses it' }, ({ p, params }) => svc.deleteModelCard(db, p, params.id!));

  r.post('/agents', { audit: 'agent.create', roles: ADMIN_ONLY, body: agentCreateSchema, status: 201 }, ({ p, body }) => svc.createAgent(db, p, body));
  r.get('/agents', { roles: READ_DEFINITIONS, query: listQuerySchema }, ({ p, query }) => svc.listAgents(db, p, query));
  r.get('/agents/:id', { roles: READ_DEFINITIONS }, ({ p, params }) => svc.getAgent(db, p, params.id!));
  r.patch('/agents/:id', { audit: 'agent.update', roles: ADMIN_ONLY, body: agentUpdateSchema }, ({ p, params, body }) => svc.updateAgent(db, p, params.id!, body));
  r.delete('/agents/:id', { audit: 'agent.archive', roles: ADMIN_ONLY }, ({ p, params }) => svc.archiveAgent(db, p, params.id!));
  r.get('/agents/:id/versions', { roles: READ_DEFINITIONS }, ({ p, params }) => svc.listAgentVersions(db, p, params.id!));
  r.get('/agents/:id/versions/:v', { roles: READ_DEFINITIONS }, ({ p, params }) => svc.getAgentVersion(db, p, params.id!, versionParam.parse(params.v)));

  r.post('/tools', { audit: 'tool.create', roles: ADMIN_ONLY, body: toolCreateSchema, status: 201 }, ({ p, body }) => svc.createTool(db, p, body, open));
  r.get('/tools', { roles: READ_DEFINITIONS, query: listQuerySchema }, ({ p, query }) => svc.listTools(db, p, query));
  r.get('/tools/:name', { roles: READ_DEFINITIONS }, ({ p, params }) => svc.getTool(db, p, params.name!));
  r.patch('/tools/:name', { audit: 'tool.update', roles: ADMIN_ONLY, body: toolUpdateSchema }, ({ p, params, body }) => svc.updateTool(db, p, params.name!, body, open));
  r.delete('/tools/:name', { audit: 'tool.delete', roles: ADMIN_ONLY }, ({ p, params }) => svc.deleteTool(db, p, params.name!));

  r.post('/vault', { audit: 'vault.create', roles: ADMIN_ONLY, body: vaultCreateSchema, status: 201 }, ({ p, body }) => svc.createVault(db, secrets, p, body.name, body.value));
  r.get('/vault', { roles: ['auditor'], query: listQuerySchema }, ({ p, query }) => svc.listVault(db, p, query));
  r.get('/vault/:name', { roles: ['auditor'] }, ({ p, params }) => svc.getVault(db, p, params.name!));
  for (const method of ['patch', 'post'] as const) {
    r[method]('/vault/:name', { audit: 'vault.update', roles: ADMIN_ONLY, body: vaultUpdateSchema }, ({ p, params, body }) => svc.updateVault(db, secrets, p, params.name!, body.value));
  }
  r.delete('/vault/:name', { audit: 'vault.delete', roles: ADMIN_ONLY }, ({ p, params }) => svc.deleteVault(db, p, params.name!));
  return r.router;
}
