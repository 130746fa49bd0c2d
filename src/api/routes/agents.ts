// /v1/agents, their versions and their export: admins write; developers and auditors read.
import type { Router } from 'express';
import { z } from 'zod';
import { listQuerySchema } from '../../domain/common';
import { agentCreateSchema, agentUpdateSchema } from '../../domain/agent';
import * as svc from '../../services/agents';
import * as bundles from '../../services/agent-bundles';
import { agentBundleObjectSchema } from '../../domain/agent-bundle';
import type { ServiceDeps } from '../../services/deps';
import { ADMIN_ONLY, defineRoutes, type RouteDoc, READ_DEFINITIONS } from '../route';
import { agentObjectSchema } from '../../domain/api-objects';

const versionParam = z.coerce.number().int().min(1).max(1_000_000);
const exportQuerySchema = z.object({ version: versionParam.optional() });

export function agentRoutes({ db }: ServiceDeps, registry: RouteDoc[]): Router {
  const r = defineRoutes(registry);
  r.post('/agents', { audit: 'agent.create', roles: ADMIN_ONLY, body: agentCreateSchema, status: 201, response: { object: agentObjectSchema } }, ({ p, body }) => svc.createAgent(db, p, body));
  r.get('/agents', { roles: READ_DEFINITIONS, query: listQuerySchema, response: { list: agentObjectSchema } }, ({ p, query }) => svc.listAgents(db, p, query));
  r.get('/agents/:id', { roles: READ_DEFINITIONS, response: { object: agentObjectSchema } }, ({ p, params }) => svc.getAgent(db, p, params.id!));
  r.patch('/agents/:id', { audit: 'agent.update', roles: ADMIN_ONLY, body: agentUpdateSchema, response: { object: agentObjectSchema } }, ({ p, params, body }) => svc.updateAgent(db, p, params.id!, body));
  r.delete('/agents/:id', { audit: 'agent.archive', roles: ADMIN_ONLY }, ({ p, params }) => svc.archiveAgent(db, p, params.id!));
  r.get('/agents/:id/versions', { roles: READ_DEFINITIONS }, ({ p, params }) => svc.listAgentVersions(db, p, params.id!));
  r.get(
    '/agents/:id/export',
    {
      roles: READ_DEFINITIONS,
      query: exportQuerySchema,
      response: { object: agentBundleObjectSchema },
      summary:
        'The agent (id or name) at ?version= (default: its current one) with the tools it names, and the names of the model cards and vault secrets they need; never a key or a secret value. POST /v1/imports takes it',
    },
    ({ p, params, query }) => bundles.exportAgent(db, p, params.id!, query.version),
  );
  r.get('/agents/:id/versions/:v', { roles: READ_DEFINITIONS }, ({ p, params }) => svc.getAgentVersion(db, p, params.id!, versionParam.parse(params.v)));
  return r.router;
}
