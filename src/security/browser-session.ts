// The dashboard's browser session: the API key lives in an HttpOnly, SameSite=Strict cookie, and every
// state-changing request authenticated by that cookie must carry the session's CSRF token in a header
// (and, when the browser says where it comes from, come from this origin).
import crypto from 'node:crypto';
import type { Request, Response } from 'express';
import { ApiError } from '../domain/errors';

export const SESSION_COOKIE = 'ap_session';
export const CSRF_COOKIE = 'ap_csrf';
export const CSRF_HEADER = 'x-csrf-token';
const SESSION_SECONDS = 12 * 3600;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

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

function cookie(res: Response, req: Request, name: string, value: string, maxAge: number): void {
  const secure = req.secure ? '; Secure' : '';
  res.append('Set-Cookie', `${name}=${encodeURIComponent(value)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure}`);
}

export const newCsrfToken = (): string => crypto.randomBytes(24).toString('base64url');

/** The CSRF token of this browser, set as a cookie when it has none (the sign-in form needs one too). */
export function ensureCsrfToken(req: Request, res: Response): string {
  const existing = readCookies(req)[CSRF_COOKIE];
  if (existing && /^[A-Za-z0-9_-]{32}$/.test(existing)) return existing;
  const token = newCsrfToken();
  cookie(res, req, CSRF_COOKIE, token, SESSION_SECONDS);
  return token;
}

export function startSession(req: Request, res: Response, apiKey: string): string {
  const csrf = newCsrfToken(); // a new token at sign-in: a token planted before it is worthless
  cookie(res, req, SESSION_COOKIE, apiKey, SESSION_SECONDS);
  cookie(res, req, CSRF_COOKIE, csrf, SESSION_SECONDS);
  return csrf;
}

export function endSession(req: Request, res: Response): void {
  cookie(res, req, SESSION_COOKIE, '', 0);
  cookie(res, req, CSRF_COOKIE, '', 0);
}

const sameToken = (a: string | undefined, b: string | undefined): boolean =>
  Boolean(a && b && a.length === b.length && crypto.timingSafeEqual(Buffer.from(a), Buffer.from(b)));

/** Throws 403 `csrf_failed` unless a state-changing cookie-authenticated request proves it comes from our pages. */
export function checkCsrf(req: Request, given: string | undefined): void {
  if (SAFE_METHODS.has(req.method)) return;
  const origin = req.header('origin');
  const site = req.header('sec-fetch-site');
  const foreignOrigin = origin !== undefined && origin !== 'null' && hostOf(origin) !== req.header('host');
  if (foreignOrigin || origin === 'null' || (site !== undefined && site !== 'same-origin') || !sameToken(given, readCookies(req)[CSRF_COOKIE])) {
    throw new ApiError(403, 'csrf_failed', 'This browser request lacks a valid CSRF token or comes from another origin');
  }
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}
