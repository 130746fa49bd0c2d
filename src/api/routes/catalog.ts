// /v1/model_cards, /v1/agents, /v1/tools, /v1/vault.
import { Router } from 'express';
import { z } from 'zod';
import { listQuerySchema } from '../../domain/common';
import { agentCreateSchema, agentUpdateSchema } from '../../domain/agent';
import { modelCardCreateSchema, modelCardUpdateSchema } from '../../domain/model-card';
import { toolCreateSchema, toolUpdateSchema } from '../../domain/tool';
import { vaultCreateSchema, vaultUpdateSchema } from '../../domain/vault';
import * as svc from '../../services/catalog';
import type { ServiceDeps } from '../../services/deps';
import { ADMIN_ONLY, handle, READ_DEFINITIONS } from '../route';

const versionParam = z.coerce.number().int().min(1).max(1_000_000);

export function catalogRoutes({ db, secrets, config }: ServiceDeps): Router {
  const open = config.allowPrivateNetwork;
  const r = Router();
  r.post('/model_cards', handle({ roles: ADMIN_ONLY, body: modelCardCreateSchema, status: 201 }, ({ p, body }) => svc.createModelCard(db, secrets, p, body, open)));
  r.get('/model_cards', handle({ roles: ['auditor'], query: listQuerySchema }, ({ p, query }) => svc.listModelCards(db, secrets, p, query)));
  r.get('/model_cards/:id', handle({ roles: ['auditor'] }, ({ p, params }) => svc.getModelCard(db, secrets, p, params.id!)));
  r.post('/model_cards/:id', handle({ roles: ADMIN_ONLY, body: modelCardUpdateSchema }, ({ p, params, body }) => svc.updateModelCard(db, secrets, p, params.id!, body, open)));
  r.delete('/model_cards/:id', handle({ roles: ADMIN_ONLY }, ({ p, params }) => svc.deleteModelCard(db, p, params.id!)));

  r.post('/agents', handle({ roles: ADMIN_ONLY, body: agentCreateSchema, status: 201 }, ({ p, body }) => svc.createAgent(db, p, body)));
  r.get('/agents', handle({ roles: READ_DEFINITIONS, query: listQuerySchema }, ({ p, query }) => svc.listAgents(db, p, query)));
  r.get('/agents/:id', handle({ roles: READ_DEFINITIONS }, ({ p, params }) => svc.getAgent(db, p, params.id!)));
  r.patch('/agents/:id', handle({ roles: ADMIN_ONLY, body: agentUpdateSchema }, ({ p, params, body }) => svc.updateAgent(db, p, params.id!, body)));
  r.delete('/agents/:id', handle({ roles: ADMIN_ONLY }, ({ p, params }) => svc.archiveAgent(db, p, params.id!)));
  r.get('/agents/:id/versions', handle({ roles: READ_DEFINITIONS }, ({ p, params }) => svc.listAgentVersions(db, p, params.id!)));
  r.get('/agents/:id/versions/:v', handle({ roles: READ_DEFINITIONS }, ({ p, params }) => svc.getAgentVersion(db, p, params.id!, versionParam.parse(params.v))));

  r.post('/tools', handle({ roles: ADMIN_ONLY, body: toolCreateSchema, status: 201 }, ({ p, body }) => svc.createTool(db, p, body, open)));
  r.get('/tools', handle({ roles: READ_DEFINITIONS, query: listQuerySchema }, ({ p, query }) => svc.listTools(db, p, query)));
  r.get('/tools/:name', handle({ roles: READ_DEFINITIONS }, ({ p, params }) => svc.getTool(db, p, params.name!)));
  r.patch('/tools/:name', handle({ roles: ADMIN_ONLY, body: toolUpdateSchema }, ({ p, params, body }) => svc.updateTool(db, p, params.name!, body, open)));
  r.delete('/tools/:name', handle({ roles: ADMIN_ONLY }, ({ p, params }) => svc.deleteTool(db, p, params.name!)));

  r.post('/vault', handle({ roles: ADMIN_ONLY, body: vaultCreateSchema, status: 201 }, ({ p, body }) => svc.createVault(db, secrets, p, body.name, body.value)));
  r.get('/vault', handle({ roles: ['auditor'], query: listQuerySchema }, ({ p, query }) => svc.listVault(db, p, query)));
  r.get('/vault/:name', handle({ roles: ['auditor'] }, ({ p, params }) => svc.getVault(db, p, params.name!)));
  const updateVault = handle({ roles: ADMIN_ONLY, body: vaultUpdateSchema }, ({ p, params, body }) => svc.updateVault(db, secrets, p, params.name!, body.value));
  r.patch('/vault/:name', updateVault);
  r.post('/vault/:name', updateVault);
  r.delete('/vault/:name', handle({ roles: ADMIN_ONLY }, ({ p, params }) => svc.deleteVault(db, p, params.name!)));
  return r;
}
