// /v1/usage (API.md 16): a workspace's usage at a glance, for every role that reads runs.
import type { Router } from 'express';
import { usageQuerySchema } from '../../domain/usage-report';
import { usageReportSchema } from '../../domain/api-objects';
import * as svc from '../../services/usage';
import type { ServiceDeps } from '../../services/deps';
import { defineRoutes, READ_ALL, type RouteDoc } from '../route';

export function usageRoutes(deps: ServiceDeps, registry: RouteDoc[]): Router {
  const r = defineRoutes(registry);
  r.get(
    '/usage',
    {
      roles: READ_ALL,
      query: usageQuerySchema,
      response: { object: usageReportSchema },
      summary:
        'Runs, tokens in/out, cost, tool calls, approvals (requested/approved/denied/expired) and failed runs of the runs created in `[from, to)` (default: the last 30 UTC days, today included; at most 366 days), ' +
        'grouped by `day` (UTC, every day of the window, oldest first), `agent` or `model` (the model that answered each call, from its message.completed event; the most expensive first), with the window\'s `total`. ' +
        'A date-only `to` includes that day. 400 validation_failed when from is not before to or the window is longer',
    },
    ({ p, query }) => svc.usageReport(deps, p, query),
  );
  return r.router;
}
