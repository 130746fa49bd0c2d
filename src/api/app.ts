// The Express app: request context, JSON bodies (1 MiB), health, authenticated /v1 routes, errors.
import { isUtf8 } from 'node:buffer';
import express, { type Express } from 'express';
import { PlatformError } from '../domain/errors';
import type { ServiceDeps } from '../services/deps';
import { requireApiKey } from './middleware/auth';
import { buildOpenApi } from './openapi';
import { PlatformMetrics } from './metrics';
import { codecRouter } from './codec-server';
import { recordAudit, type AuditEntry } from '../services/audit';
import { auditRoutes } from './routes/audit';
import { fileRoutes } from './routes/files';
import { environmentRoutes } from './routes/environments';
import { skillRoutes } from './routes/skills';
import { memoryRoutes } from './routes/memory';
import { evalRoutes } from './routes/evals';
import { connectionRoutes, mountConnectionCallback } from './routes/connections';
import type { RouteDoc } from './route';
import { idempotency } from './middleware/idempotency';
import { checkRate, longRequestSlots } from '../services/limits';
import { errorHandler, notFoundRoute } from './middleware/errors';
import { requestContext } from './middleware/request';
import { modelCardRoutes } from './routes/model-cards';
import { agentRoutes } from './routes/agents';
import { toolRoutes } from './routes/tools';
import { importRoutes } from './routes/imports';
import { vaultRoutes } from './routes/vault';
import { runRoutes } from './routes/runs';
import { sessionLogRoutes } from './routes/session-log';
import { approvalRoutes } from './routes/approvals';
import { actionRoutes } from './routes/actions';
import { chatRoutes } from './routes/chat';
import { webhookRoutes } from './routes/webhooks';
import { workspaceRoutes } from './routes/workspaces';
import { usageRoutes } from './routes/usage';
import { DASHBOARD_ROUTES, dashboardRouter } from '../dashboard/router';

export function createApp(deps: ServiceDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  // req.secure and req.ip believe X-Forwarded-* only from the proxies the operator named (AP_TRUST_PROXY).
  app.set('trust proxy', deps.config.trustProxy);
  app.locals.audit = (entry: AuditEntry) => recordAudit(deps, entry);
  const metrics = new PlatformMetrics(deps.db, deps.config.metricsCacheSeconds, deps.runStarts);
  app.use(requestContext(deps.log, metrics));
  // body-parser replaces invalid UTF-8 with U+FFFD; such a body is refused instead of silently altered.
  const utf8Only = (_req: unknown, _res: unknown, buf: Buffer): void => {
    if (!isUtf8(buf)) throw new PlatformError('invalid_json', 'The request body is not valid UTF-8');
  };
  app.use(express.json({ limit: '1mb', strict: false, type: ['application/json', 'application/*+json'], verify: utf8Only }));

  app.get('/healthz', (_req, res) => void res.json({ ok: true }));
  app.get('/readyz', async (_req, res) => {
    const [db, temporal] = await Promise.all([
      deps.db.query('SELECT 1').then(() => true, () => false),
      deps.temporal.workflowService.getSystemInfo({}).then(() => true, () => false),
    ]);
    res.status(db && temporal ? 200 : 503).json({ ok: db && temporal, database: db, temporal });
  });

  const registry: RouteDoc[] = [];
  const unversioned: RouteDoc[] = [
    { method: 'get', path: '/healthz', roles: [], summary: 'Liveness' },
    { method: 'get', path: '/readyz', roles: [], summary: 'Readiness: PostgreSQL and Temporal answer' },
    { method: 'get', path: '/openapi.json', roles: [], summary: 'This document' },
    {
      method: 'get', path: '/metrics', roles: ['auditor'], operator: true,
      summary: `Prometheus metrics (counts and latencies, no content) of every workspace: an admin or auditor key of the default workspace (Authorization: Bearer), else 401/403. The database figures are refreshed at most every AP_METRICS_CACHE_SECONDS (${deps.config.metricsCacheSeconds} s here); HTTP counts are live, per API process`,
    },
  ];
  app.get('/metrics', requireApiKey(deps.db), metrics.handler());
  // Built once, when every route is registered (at the end of createApp): it takes tens of milliseconds.
  let openApi: string | undefined;
  app.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(openApi);
  });

  app.use('/codec', codecRouter(deps.db, deps.codec, deps.config.codecCorsOrigins));
  unversioned.push({ method: 'post', path: '/codec/decode', roles: ['auditor'], summary: 'Temporal remote codec: decode payloads' });

  mountConnectionCallback(app, deps, unversioned);

  // Load shedding: when many queries already wait for a connection (4× the pool, at least 50), a new
  // request would only time out into a 503 later; it gets 429 with Retry-After at once (issue 7 bench).
  const shedAt = Math.max(50, 4 * deps.config.dbPoolSize);
  /** A router for API-key routes: shedding, the key, the rate limits, before any route. */
  const keyed = (): express.Router => {
    const r = express.Router();
    r.use((_req, _res, next) => {
      if (deps.db.waitingCount >= shedAt) {
        throw new PlatformError('rate_limited', 'The server is busy; retry after the Retry-After delay', undefined, { 'Retry-After': '1' });
      }
      next();
    });
    r.use(requireApiKey(deps.db));
    r.use(async (req, _res, next) => {
      await checkRate(deps.db, deps.config, req.principal!.workspace_id, req.principal!.key_id);
      next();
    });
    return r;
  };
  const v1 = keyed();
  // Idempotency-Key is handled by each route (route.ts), after its role check.
  app.locals.idempotency = idempotency(deps);
  app.locals.longRequests = longRequestSlots(deps.config.limits.longRequestsPerKey);
  v1.use(workspaceRoutes(deps, registry));
  v1.use(modelCardRoutes(deps, registry));
  v1.use(agentRoutes(deps, registry));
  v1.use(toolRoutes(deps, registry));
  v1.use(importRoutes(deps, registry));
  v1.use(vaultRoutes(deps, registry));
  v1.use(runRoutes(deps, registry));
  v1.use(sessionLogRoutes(deps, registry));
  v1.use(approvalRoutes(deps, registry));
  v1.use(actionRoutes(deps, registry));
  v1.use(chatRoutes(deps, registry));
  v1.use(webhookRoutes(deps, registry));
  v1.use(auditRoutes(deps, registry));
  v1.use(fileRoutes(deps, registry));
  v1.use(environmentRoutes(deps, registry));
  v1.use(skillRoutes(deps, registry));
  v1.use(memoryRoutes(deps, registry));
  v1.use(evalRoutes(deps, registry));
  v1.use(connectionRoutes(deps, registry));
  v1.use(usageRoutes(deps, registry));
  app.use('/v1', v1);
  // Agentlify's path (API.md 16): the OpenAI SDK pointed at <host>/api/agents finds the same handlers.
  const agentlify = keyed();
  agentlify.use(chatRoutes(deps, registry, '/api/agents'));
  app.use('/api/agents', agentlify);

  app.use('/dashboard', dashboardRouter(deps.db, { production: deps.config.production }));
  unversioned.push(...DASHBOARD_ROUTES);

  openApi = JSON.stringify(buildOpenApi(registry, unversioned));

  app.use(notFoundRoute);
  app.use(errorHandler);
  return app;
}
