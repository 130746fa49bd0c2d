// /v1/connections (API.md 12): OAuth clients (admin writes; developers and auditors read, like tools),
// which users hold a token (admin), revocation, the user's authorization link (only for the app that
// created the run), and the two unauthenticated steps of the user's browser: opening the link and the
// callback the authorization server sends it back to.
//
// Identity model: the platform does not authenticate end users. A `user_reference` is asserted by the
// application's API key when it creates a session, and a user's connected-account tokens are used by
// every run of every session of that user_reference in the workspace; so any key that may create runs
// (developer, admin) acts for any user of its workspace, and such keys belong to trusted application
// backends. What the platform enforces: a session bound to a user_reference is returned only to a
// caller naming it (omitting it is 403 too); an authorization link goes only to the key that created the
// run and only binds the browser that opened it; which users hold tokens is visible to admins only.
import { z } from 'zod';
import type { Express, Request, Response, Router } from 'express';
import { listQuerySchema } from '../../domain/common';
import { callbackQuerySchema, connectionCreateSchema } from '../../domain/connection';
import { PlatformError } from '../../domain/errors';
import { httpStatus } from '../error-status';
import { overTls, readCookies } from '../../security/browser-session';
import * as svc from '../../services/connections';
import { authorizationLink } from '../../services/authorization-links';
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
  r.get('/connections/:id/tokens', { roles: ADMIN_ONLY, summary: 'Admin: the user_references holding a token of this connection (never a token). Identity model: a user_reference is asserted by the application key that creates the session; every run of that user_reference in the workspace uses its tokens' }, ({ p, params }) => svc.listTokenUsers(db, p, params.id!));
  r.delete('/connections/:id/tokens/:user_reference', { audit: 'connection.revoke', roles: ADMIN_ONLY, summary: "Revokes a user's authorization: its tokens are deleted and the next run that needs it asks again; with a revocation_url the grant is also revoked at the provider (RFC 7009), reported as provider_revoked (null without one)" }, ({ p, params }) =>
    svc.revokeToken(deps, p, params.id!, params.user_reference!),
  );
  r.post(
    '/runs/:id/authorizations/:tool_call_id',
    {
      audit: 'connection.authorization_link',
      roles: ['developer'],
      summary:
        "The session user's authorization link for a run in waiting_auth: only the API key that created the run gets it (403 otherwise, admins included). `auth.required`, `pending_authorizations`, webhooks and chat metadata carry this endpoint as `authorization_url`, never a link. The link (`authorization_url` of the answer) is for the user's browser, works once, expires after 10 minutes (call again for a new one) and only completes in the browser that opened it; 404 when that tool call waits for no authorization",
    },
    async ({ res, p, params }) => {
      res.set('Cache-Control', 'no-store');
      return authorizationLink(deps, p, params.id!, params.tool_call_id!);
    },
  );
  return r.router;
}

const AUTHORIZE = '/v1/connections/:id/authorize';
const CALLBACK = '/v1/connections/:id/callback';
const authorizeQuerySchema = z.object({ request: z.string().regex(/^[A-Za-z0-9_-]{43}$/) });

/**
 * The user's browser, without an API key: it opens the link (AUTHORIZE), which starts the flow once, sets
 * the flow's binding cookie and redirects to the authorization server; that sends it back to CALLBACK,
 * which needs the same cookie and the single-use state. Both answer small HTML pages on refusal.
 */
export function mountConnectionCallback(app: Express, deps: ServiceDeps, docs: RouteDoc[]): void {
  docs.push(
    { method: 'get', path: AUTHORIZE, roles: [], public: true, query: authorizeQuerySchema, summary: 'The user’s authorization link (no API key), from POST /v1/runs/:id/authorizations/:tool_call_id: works once within 10 minutes, sets an HttpOnly cookie binding the flow to this browser and redirects to the authorization server; 400 invalid_state otherwise' },
    { method: 'get', path: CALLBACK, roles: [], public: true, query: callbackQuerySchema, summary: 'OAuth redirect URI (no API key): needs the browser that opened the link; stores the user’s tokens and resumes the runs waiting for them; 400 invalid_state for a forged, replayed, expired or foreign-browser state' },
  );
  const headers = { 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer', 'Content-Security-Policy': "default-src 'none'" };
  const html = (res: Response, status: number, title: string, text: string) =>
    void res.status(status).type('html').set(headers).send(`<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${text}</p></body></html>`);
  const cookiePath = (id: string) => `/v1/connections/${encodeURIComponent(id)}/callback`;
  const secure = (req: Request) => (overTls(req, { production: deps.config.production }) ? '; Secure' : '');

  app.get(AUTHORIZE, async (req, res, next) => {
    const q = authorizeQuerySchema.safeParse(req.query);
    if (!q.success) return html(res, 400, 'Authorization failed', 'The link is incomplete (invalid_state).');
    try {
      const started = await svc.startAuthorization(deps, req.params.id!, q.data.request);
      // Lax, not Strict: the authorization server's redirect back is a cross-site top-level navigation.
      res.append('Set-Cookie', `${started.cookie.name}=${started.cookie.value}; Path=${cookiePath(req.params.id!)}; HttpOnly; SameSite=Lax; Max-Age=${started.cookie.max_age}${secure(req)}`);
      res.set(headers).redirect(302, started.location);
    } catch (err) {
      if (!(err instanceof PlatformError)) return next(err);
      req.log.info({ code: err.code }, 'authorization link refused');
      html(res, httpStatus(err), 'Authorization failed', `${err.message} (${err.code}).`);
    }
  });

  app.get(CALLBACK, async (req, res, next) => {
    const q = callbackQuerySchema.safeParse(req.query);
    if (!q.success) return html(res, 400, 'Authorization failed', 'The link is incomplete (invalid_state).');
    try {
      await svc.completeAuthorization(deps, req.params.id!, q.data, readCookies(req));
      res.append('Set-Cookie', `${svc.bindingCookieName(q.data.state)}=; Path=${cookiePath(req.params.id!)}; HttpOnly; SameSite=Lax; Max-Age=0${secure(req)}`);
      html(res, 200, 'Connected', 'The account is connected. You can close this window and return to the application.');
    } catch (err) {
      if (!(err instanceof PlatformError)) return next(err);
      req.log.info({ code: err.code }, 'authorization callback refused');
      html(res, httpStatus(err), 'Authorization failed', `${err.message} (${err.code}).`);
    }
  });
}
