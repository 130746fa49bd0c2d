// /v1/action_invocations.
import type { Router } from 'express';
import { actionCreateSchema } from '../../domain/action';
import { cancelSchema } from '../../domain/run';
import * as svc from '../../services/actions';
import type { ServiceDeps } from '../../services/deps';
import { defineRoutes, type RouteDoc, READ_ALL } from '../route';

export function actionRoutes(deps: ServiceDeps, registry: RouteDoc[]): Router {
  const r = defineRoutes(registry);
  r.post('/action_invocations', { audit: 'action_invocation.create', roles: ['developer'], body: actionCreateSchema }, async ({ req, res, p, body, audit }) => {
    const { status, body: view } = await svc.createAction(deps, p, body, req.id, res.locals.idempotencyKey as string | undefined, audit);
    res.status(status).setHeader('Location', `/v1/action_invocations/${view.id}`);
    return view;
  });
  r.get('/action_invocations/:id', { roles: READ_ALL }, ({ p, params }) => svc.getAction(deps, p, params.id!));
  r.post('/action_invocations/:id/cancel', { audit: 'action_invocation.cancel', roles: ['developer'], body: cancelSchema, status: 202 }, ({ p, params }) => svc.cancelAction(deps, p, params.id!));
  return r.router;
}
