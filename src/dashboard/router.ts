// /dashboard: sign-in and the page shells. The pages' data comes from the public /v1 API, called by
// dashboard.js with the session cookie (src/security/browser-session.ts); the one exception is the run
// page's feedback, rendered here (escaped) from the feedback service, since it changes only on a post.
import fs from 'node:fs';
import path from 'node:path';
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { Db } from '../db/pool';
import type { Principal } from '../domain/workspace';
import { CSRF_COOKIE, SESSION_COOKIE, endSession, ensureCsrfToken, readCookies, sessionPrincipal, setHsts, startSession, type BrowserSessionOptions } from '../security/browser-session';
import { authenticate } from '../services/workspaces';
import { visibleRunFeedback } from '../services/feedback';
import type { RouteDoc } from '../api/route';
import { approvalsPage, loginPage, runPage, runsPage, usagePage } from './pages';

/** For /openapi.json: the dashboard's routes answer HTML (or redirect to sign-in), not JSON. */
export const DASHBOARD_ROUTES: RouteDoc[] = [
  { method: 'get', path: '/dashboard/', roles: [], summary: 'The web UI: redirects to the runs list' },
  { method: 'get', path: '/dashboard/login', roles: [], summary: 'Dashboard sign-in page (HTML)' },
  { method: 'post', path: '/dashboard/login', roles: [], summary: 'Dashboard sign-in (form: key, csrf); sets the HttpOnly SameSite=Strict ap_session cookie: an opaque server-side session id (never the key) valid 12 h, Secure over https (X-Forwarded-Proto counts only with AP_TRUST_PROXY) or in production, with HSTS' },
  { method: 'post', path: '/dashboard/logout', roles: [], summary: 'Dashboard sign-out (form: csrf): revokes the session server-side, so a copied cookie stops working; revoking the API key also ends its sessions' },
  { method: 'get', path: '/dashboard/runs', roles: [], summary: 'Runs list with filters, refreshed live (HTML; needs a session)' },
  { method: 'get', path: '/dashboard/runs/:id', roles: [], summary: 'A run with its live timeline (HTML; needs a session)' },
  { method: 'get', path: '/dashboard/approvals', roles: [], summary: 'Approvals inbox (HTML; needs a session)' },
  { method: 'get', path: '/dashboard/usage', roles: [], summary: 'Usage at a glance: totals, charts and a table from GET /v1/usage (HTML; needs a session)' },
  { method: 'get', path: '/dashboard/assets/:name', roles: [], summary: 'The dashboard script and stylesheet' },
];

const ASSETS: Record<string, { type: string; body: Buffer }> = Object.fromEntries(
  [
    ['dashboard.js', 'text/javascript; charset=utf-8'],
    ['dashboard.css', 'text/css; charset=utf-8'],
  ].map(([name, type]) => [name!, { type: type!, body: fs.readFileSync(path.join(__dirname, 'assets', name!)) }]),
);

// The pages run only our own script, talk only to this origin, and may not be framed (clickjacking).
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const loginSchema = z.object({ key: z.string().max(200), csrf: z.string().max(100) });
const RUN_ID = /^run_[A-Za-z0-9]{1,64}$/;
/** The run page shows this many of the newest feedback items and says how many more there are. */
const PAGE_FEEDBACK_ITEMS = 20;

function send(res: Response, status: number, html: string): void {
  res.status(status).set({ 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).send(html);
}

export function dashboardRouter(db: Db, o: BrowserSessionOptions): Router {
  const r = Router();
  r.use((req, res, next) => {
    res.set({ 'content-security-policy': CSP, 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff' });
    setHsts(req, res, o);
    next();
  });

  r.get('/assets/:name', (req, res) => {
    const asset = ASSETS[req.params.name];
    if (!asset) return void res.status(404).type('text/plain').send('Not found');
    res.set({ 'content-type': asset.type, 'cache-control': 'no-cache' }).send(asset.body);
  });

  r.get('/login', (req, res) => send(res, 200, loginPage(ensureCsrfToken(req, res, o))));

  r.post('/login', express.urlencoded({ extended: false, limit: '4kb' }), async (req, res) => {
    const form = loginSchema.safeParse(req.body ?? {});
    const expected = readCookies(req)[CSRF_COOKIE];
    if (!form.success || !expected || form.data.csrf !== expected) {
      return send(res, 403, loginPage(ensureCsrfToken(req, res, o), 'The sign-in form expired; please try again.'));
    }
    const key = form.data.key.trim();
    const principal = key ? await authenticate(db, key) : undefined;
    if (!principal) return send(res, 401, loginPage(expected, 'That API key is invalid or revoked.'));
    await startSession(db, req, res, o, principal);
    req.log.info({ workspace_id: principal.workspace_id, key_id: principal.key_id }, 'dashboard sign-in');
    res.redirect(303, '/dashboard/runs');
  });

  r.post('/logout', express.urlencoded({ extended: false, limit: '4kb' }), async (req, res) => {
    const given = typeof req.body?.csrf === 'string' ? (req.body.csrf as string) : '';
    if (given !== readCookies(req)[CSRF_COOKIE]) return void res.status(403).type('text/plain').send('Invalid CSRF token');
    await endSession(db, req, res, o);
    res.redirect(303, '/dashboard/login');
  });

  const page = (render: (p: Principal, csrf: string, req: Request) => string | undefined | Promise<string | undefined>): RequestHandler => async (req, res) => {
    const principal = await sessionPrincipal(db, readCookies(req)[SESSION_COOKIE]);
    if (!principal) return res.redirect(303, '/dashboard/login');
    const html = await render(principal, ensureCsrfToken(req, res, o), req);
    if (html === undefined) return send(res, 404, '<!doctype html><title>Not found</title><p>Not found</p>');
    send(res, 200, html);
  };

  r.get('/', (_req, res) => res.redirect(303, '/dashboard/runs'));
  r.get('/runs', page((p, csrf) => runsPage(p, csrf)));
  r.get('/runs/:id', page(async (p, csrf, req) => {
    const id = String(req.params.id);
    if (!RUN_ID.test(id)) return undefined;
    // Another workspace's run (or none) gets the same page as today, without a feedback section.
    return runPage(p, csrf, id, await visibleRunFeedback(db, p, id, PAGE_FEEDBACK_ITEMS));
  }));
  r.get('/approvals', page((p, csrf) => approvalsPage(p, csrf)));
  r.get('/usage', page((p, csrf) => usagePage(p, csrf)));
  return r;
}
