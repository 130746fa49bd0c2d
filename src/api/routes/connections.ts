// /v1/connections (API.md 12): OAuth clients (admin writes; developers and auditors read, like tools),
// which users hold a token, revocation, and the unauthenticated callback the user's browser is sent back to.
import type { Express, Router } from 'express';
import { listQuerySchema } from '../../domain/common';
import { callbackQuerySchema, connectionCreateSchema } from '../../domain/connection';
import { ApiError } from '../../domain/errors';
import * as svc from '../../services/connections';
import type { ServiceDeps } from '../../services/deps';
import { ADMIN_ONLY, defineRoutes, READ_DEFINITIONS, type RouteDoc } from '../route';

export function connectionRoutes(deps: ServiceDeps, registry: RouteDoc[]): Router {
  const { db, secrets, config } = deps;
  const r = defineRoutes(registry);
  r.post('/connections', { audit: 'connection.create', roles: ADMIN_ONLY, body: connectionCreateSchema, status: 201, summary: 'An OAuth 2.0 client (authorization code with PKCE); the client_secret is stored encrypted and never shown' }, ({ p, body }) =>
    svc.createConnection(db, secrets, p, body, config.allowPrivateNetwork),
  );
  r.get('/connections', { roles: READ_DEFINITIONS, query: listQuerySchema }, ({ p, query }) => svc.listConnections(db, p, query));
  r.get('/connections/:id', { roles: READ_DEFINITIONS }, ({ p, params }) => svc.getConnection(db, p, params.id!));
  r.delete('/connections/:id', { audit: 'connection.delete', roles: ADMIN_ONLY, summary: "Deletes a connection and its users' tokens; 409 connection_in_use while a tool declares it" }, ({ p, params }) => svc.deleteConnection(db, p, params.id!));
  r.get('/connections/:id/tokens', { roles: READ_DEFINITIONS, summary: 'The user_references holding a token of this connection (never a token)' }, ({ p, params }) => svc.listTokenUsers(db, p, params.id!));
  r.delete('/connections/:id/tokens/:user_reference', { audit: 'connection.revoke', roles: ADMIN_ONLY, summary: "Revokes a user's authorization: its tokens are deleted and the next run that needs it asks again; with a revocation_url the grant is also revoked at the provider (RFC 7009), reported as provider_revoked (null without one)" }, ({ p, params }) =>
    svc.revokeToken(deps, p, params.id!, params.user_reference!),
  );
  return r.router;
}

const CALLBACK = '/v1/connections/:id/callback';

/**
 * The redirect back from the authorization server, before the API-key check: the user's browser carries
 * no key; the single-use state is the credential. Answers a small HTML page, 400 for a refused state.
 */
export function mountConnectionCallback(app: Express, deps: ServiceDeps, docs: RouteDoc[]): void {
  docs.push({ method: 'get', path: CALLBACK, roles: [], public: true, query: callbackQuerySchema, summary: 'OAuth redirect URI (no API key): stores the user’s tokens and resumes the runs waiting for them; 400 invalid_state for a forged, replayed or expired state' });
  app.get(CALLBACK, async (req, res, next) => {
    const html = (status: number, title: string, text: string) =>
      void res
        .status(status)
        .type('html')
        .set({ 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer', 'Content-Security-Policy': "default-src 'none'" })
        .send(`<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${text}</p></body></html>`);
    const q = callbackQuerySchema.safeParse(req.query);
    if (!q.success) return html(400, 'Authorization failed', 'The link is incomplete (invalid_state).');
    try {
      await svc.completeAuthorization(deps, req.params.id!, q.data);
      html(200, 'Connected', 'The account is connected. You can close this window and return to the application.');
    } catch (err) {
      if (!(err instanceof ApiError)) return next(err);
      req.log.info({ code: err.code }, 'authorization callback refused');
      html(err.status, 'Authorization failed', `${err.message} (${err.code}).`);
    }
  });
}
