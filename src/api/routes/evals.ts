// /v1/eval_sets and /v1/evals (API.md 10): developers and admins write eval sets and start evals
// (`tool_mode: "live"` needs an admin, checked by the service); auditors read.
import type { Router } from 'express';
import { listQuerySchema } from '../../domain/common';
import { cancelSchema } from '../../domain/run';
import { evalCreateSchema, evalListQuerySchema, evalSetCreateSchema, evalSetGetQuerySchema, evalSetUpdateSchema } from '../../domain/eval';
import * as svc from '../../services/evals';
import type { ServiceDeps } from '../../services/deps';
import { defineRoutes, READ_DEFINITIONS, type RouteDoc } from '../route';

export function evalRoutes(deps: ServiceDeps, registry: RouteDoc[]): Router {
  const { db } = deps;
  const r = defineRoutes(registry);
  r.post('/eval_sets', { audit: 'eval_set.create', roles: ['developer'], body: evalSetCreateSchema, status: 201, summary: 'An eval set: named cases of run input and expectations (version 1)' }, ({ p, body }) => svc.createEvalSet(db, p, body));
  r.get('/eval_sets', { roles: READ_DEFINITIONS, query: listQuerySchema }, ({ p, query }) => svc.listEvalSets(db, p, query));
  r.get('/eval_sets/:id', { roles: READ_DEFINITIONS, query: evalSetGetQuerySchema, summary: 'An eval set by id or name, at its current version or ?version=' }, ({ p, params, query }) => svc.getEvalSet(db, p, params.id!, query.version));
  r.patch('/eval_sets/:id', { audit: 'eval_set.update', roles: ['developer'], body: evalSetUpdateSchema, summary: 'Renames an eval set; new cases make a new version (evals keep the version they ran)' }, ({ p, params, body }) => svc.updateEvalSet(db, p, params.id!, body));
  r.delete('/eval_sets/:id', { audit: 'eval_set.delete', roles: ['developer'], summary: 'Deletes an eval set (by id or name) with all its versions; 409 eval_set_in_use while an eval of it exists (delete the evals first)' }, ({ p, params }) => svc.deleteEvalSet(db, p, params.id!));
  r.post('/evals', { audit: 'eval.create', roles: ['developer'], body: evalCreateSchema, status: 202, summary: 'Starts an eval: every case as a run in a fresh session; tool_mode "dry_run" (default) never executes a write tool, "live" needs an admin' }, ({ req, p, body }) => svc.createEval(deps, p, body, req.id));
  r.post('/evals/:id/cancel', { audit: 'eval.cancel', roles: ['developer'], body: cancelSchema, status: 202, summary: 'Cancels an eval: no further case starts, the runs of cases in flight are canceled, the eval ends `canceled` with the summary of the cases judged; 409 eval_not_active once it has ended' }, ({ p, params }) => svc.cancelEval(deps, p, params.id!));
  r.delete('/evals/:id', { audit: 'eval.delete', roles: ['developer'], summary: 'Deletes an ended eval and its per-case results (its case runs stay, in their sessions); 409 eval_active while it is queued or running, or its workflow is still ending after a cancel' }, ({ p, params }) => svc.deleteEval(deps, p, params.id!));
  r.get('/evals', { roles: READ_DEFINITIONS, query: evalListQuerySchema, summary: 'Evals, newest first, without their per-case results' }, ({ p, query }) => svc.listEvals(db, p, query));
  r.get('/evals/:id', { roles: READ_DEFINITIONS, summary: "An eval with its summary and one result per case, each with its case run's feedback counts `feedback: {count, up, down}` (null before the case has a run)" }, ({ p, params }) => svc.getEval(db, p, params.id!));
  r.get('/evals/:id/compare/:other_id', { roles: READ_DEFINITIONS, summary: 'Regressions (passed in other_id, failed in id), improvements and metric deltas (id − other_id)' }, ({ p, params }) => svc.compareEvals(db, p, params.id!, params.other_id!));
  return r.router;
}
