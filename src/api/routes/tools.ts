// /v1/tools, by name: admins write; developers and auditors read.
import type { Router } from 'express';
import { listQuerySchema } from '../../domain/common';
import { toolCreateSchema, toolUpdateSchema } from '../../domain/tool';
import * as svc from '../../services/tools';
import type { ServiceDeps } from '../../services/deps';
import { ADMIN_ONLY, defineRoutes, type RouteDoc, READ_DEFINITIONS } from '../route';
import { toolObjectSchema } from '../../domain/api-objects';

const CACHE_RULE =
  '`cache_ttl_seconds` (1-86400) is allowed only on read http tools without `auth`, else 400 `validation_failed` with `param: cache_ttl_seconds`; ' +
  "an identical call (the same definition as the run sees it, arguments, end user) within it is `tool_call.completed` with `cached: true` (docs/api-notes.md)";
const CREATE_SUMMARY = `Creates a tool. ${CACHE_RULE}`;
const UPDATE_SUMMARY = `Changes the fields present (\`auth: null\` and \`cache_ttl_seconds: null\` remove them) and validates the merged tool again: ${CACHE_RULE}; a changed definition never serves an older one's cached answers`;

export function toolRoutes({ db, config }: ServiceDeps, registry: RouteDoc[]): Router {
  const open = config.allowPrivateNetwork;
  const r = defineRoutes(registry);
  r.post('/tools', { audit: 'tool.create', roles: ADMIN_ONLY, body: toolCreateSchema, status: 201, response: { object: toolObjectSchema }, summary: CREATE_SUMMARY }, ({ p, body }) => svc.createTool(db, p, body, open));
  r.get('/tools', { roles: READ_DEFINITIONS, query: listQuerySchema, response: { list: toolObjectSchema } }, ({ p, query }) => svc.listTools(db, p, query));
  r.get('/tools/:name', { roles: READ_DEFINITIONS, response: { object: toolObjectSchema } }, ({ p, params }) => svc.getTool(db, p, params.name!));
  r.patch('/tools/:name', { audit: 'tool.update', roles: ADMIN_ONLY, body: toolUpdateSchema, response: { object: toolObjectSchema }, summary: UPDATE_SUMMARY }, ({ p, params, body }) => svc.updateTool(db, p, params.name!, body, open));
  r.delete('/tools/:name', { audit: 'tool.delete', roles: ADMIN_ONLY }, ({ p, params }) => svc.deleteTool(db, p, params.name!));
  return r.router;
}
