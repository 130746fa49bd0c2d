// /v1/action_invocations.
import { Router } from 'express';
import { actionCreateSchema } from '../../domain/action';
import { cancelSchema } from '../../domain/run';
import * as svc from '../../services/actions';
import type { ServiceDeps } from '../../services/deps';
import { handle, READ_ALL } from '../route';

export function actionRoutes(deps: ServiceDeps): Router {
  const r = Router();
  r.post('/action_invocations', handle({ roles: ['developer'], body: actionCreateSchema }, async ({ req, res, p, body }) => {
    const { status, body: view } = await svc.createAction(deps, p, body, req.id, res.locals.idempotencyKey as string | undefined);
    res.status(status).setHeader('Location', `/v1/action_invocations/${view.id}`);
    return view;
  }));
  r.get('/action_invocations/:id', handle({ roles: READ_ALL }, ({ p, params }) => svc.getAction(deps, p, params.id!)));
  r.post('/action_invocations/:id/cancel', handle({ roles: ['developer'], body: cancelSchema, status: 202 }, ({ p, params }) => svc.cancelAction(deps, p, params.id!)));
  return r;
}
