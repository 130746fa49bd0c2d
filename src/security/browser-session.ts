// The dashboard's browser session: an opaque random id in an HttpOnly, SameSite=Strict cookie, stored
// server-side as its hash with the API key it acts for (by id), an expiry and a revocation
// (db/dashboard-sessions.ts). The key itself never reaches the browser after sign-in, a sign-out revokes
// the session for every copy of the cookie, and revoking the key ends its sessions. Every state-changing
// request authenticated by the cookie must carry the session's CSRF token in a header (and, when the
// browser says where it comes from, come from this origin).
import crypto from 'node:crypto';
import type { Request, Response } from 'express';
import type { Db } from '../db/pool';
import * as repo from '../db/dashboard-sessions';
import { PlatformError } from '../domain/errors';
import type { Principal } from '../domain/workspace';

export const SESSION_COOKIE = 'ap_session';
export const CSRF_COOKIE = 'ap_csrf';
export const CSRF_HEADER = 'x-csrf-token';
const SESSION_SECONDS = 12 * 3600;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** What a session id looks like (32 random bytes, base64url): anything else is not looked up. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;
/** One year, as browsers' preload lists expect; sent only on https (or in production behind TLS). */
const HSTS = 'max-age=31536000; includeSubDomains';

/** How the browser session decides what "over TLS" means. */
export interface BrowserSessionOptions {
  /** NODE_ENV=production: cookies are Secure and HSTS is sent even when the request looks like http. */
  production: boolean;
}

/**
 * Over TLS: the request is https (req.secure, which honours X-Forwarded-Proto only when the operator set
 * AP_TRUST_PROXY), or the server runs in production, where plain http to the browser is not supported.
 */
export const overTls = (req: Request, o: BrowserSessionOptions): boolean => req.secure || o.production;

/** Strict-Transport-Security on responses served over TLS. */
export function setHsts(req: Request, res: Response, o: BrowserSessionOptions): void {
  if (overTls(req, o)) res.set('strict-transport-security', HSTS);
}

export function readCookies(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.header('cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    try {
      out[name] ??= decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      // A malformed cookie value is ignored, as if absent.
    }
  }
  return out;
}

function cookie(res: Response, req: Request, o: BrowserSessionOptions, name: string, value: string, maxAge: number): void {
  const secure = overTls(req, o) ? '; Secure' : '';
  res.append('Set-Cookie', `${name}=${encodeURIComponent(value)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure}`);
}

export const newCsrfToken = (): string => crypto.randomBytes(24).toString('base64url');
const hashId = (id: string): string => crypto.createHash('sha256').update(id).digest('hex');

/** The CSRF token of this browser, set as a cookie when it has none (the sign-in form needs one too). */
export function ensureCsrfToken(req: Request, res: Response, o: BrowserSessionOptions): string {
  const existing = readCookies(req)[CSRF_COOKIE];
  if (existing && /^[A-Za-z0-9_-]{32}$/.test(existing)) return existing;
  const token = newCsrfToken();
  cookie(res, req, o, CSRF_COOKIE, token, SESSION_SECONDS);
  return token;
}

/** Signs the browser in as the key's principal: a new session row and a new CSRF token. */
export async function startSession(db: Db, req: Request, res: Response, o: BrowserSessionOptions, p: Principal): Promise<string> {
  const id = crypto.randomBytes(32).toString('base64url');
  await repo.insertSession(db, { id_hash: hashId(id), workspace_id: p.workspace_id, key_id: p.key_id, expires_at: new Date(Date.now() + SESSION_SECONDS * 1000) });
  const csrf = newCsrfToken(); // a new token at sign-in: a token planted before it is worthless
  cookie(res, req, o, SESSION_COOKIE, id, SESSION_SECONDS);
  cookie(res, req, o, CSRF_COOKIE, csrf, SESSION_SECONDS);
  return csrf;
}

/** The principal of a cookie's session; undefined when unknown, expired, revoked or its key was revoked. */
export async function sessionPrincipal(db: Db, sessionId: string | undefined): Promise<Principal | undefined> {
  if (!sessionId || !SESSION_ID.test(sessionId)) return undefined;
  const row = await repo.sessionKey(db, hashId(sessionId));
  return row && { workspace_id: row.workspace_id, workspace_name: row.workspace_name, key_id: row.id, key_name: row.name, roles: row.roles };
}

/** Sign-out: the session is revoked server-side (a copy of the cookie stops working too), the cookies cleared. */
export async function endSession(db: Db, req: Request, res: Response, o: BrowserSessionOptions): Promise<void> {
  const id = readCookies(req)[SESSION_COOKIE];
  if (id && SESSION_ID.test(id)) await repo.revokeSession(db, hashId(id));
  cookie(res, req, o, SESSION_COOKIE, '', 0);
  cookie(res, req, o, CSRF_COOKIE, '', 0);
}

const sameToken = (a: string | undefined, b: string | undefined): boolean =>
  Boolean(a && b && a.length === b.length && crypto.timingSafeEqual(Buffer.from(a), Buffer.from(b)));

/** Throws `csrf_failed` unless a state-changing cookie-authenticated request proves it comes from our pages. */
export function checkCsrf(req: Request, given: string | undefined): void {
  if (SAFE_METHODS.has(req.method)) return;
  const origin = req.header('origin');
  const site = req.header('sec-fetch-site');
  const foreignOrigin = origin !== undefined && origin !== 'null' && hostOf(origin) !== req.header('host');
  if (foreignOrigin || origin === 'null' || (site !== undefined && site !== 'same-origin') || !sameToken(given, readCookies(req)[CSRF_COOKIE])) {
    throw new PlatformError('csrf_failed', 'This browser request lacks a valid CSRF token or comes from another origin');
  }
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}
