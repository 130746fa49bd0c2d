// Authentication: `Authorization: Bearer <key>` or `x-api-key: <key>`; only the key's hash is looked up.
// The dashboard's browser session sends an opaque session id as an HttpOnly cookie instead (the session
// acts for the key that signed in), and then every state-changing call must also pass the CSRF check
// (src/security/browser-session.ts).
import type { RequestHandler } from 'express';
import type { Db } from '../../db/pool';
import { PlatformError } from '../../domain/errors';
import { CSRF_HEADER, SESSION_COOKIE, checkCsrf, readCookies, sessionPrincipal } from '../../security/browser-session';
import { authenticate } from '../../services/workspaces';

export function requireApiKey(db: Db): RequestHandler {
  return async (req, _res, next) => {
    const bearer = req.header('authorization')?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
    const headerKey = bearer ?? req.header('x-api-key')?.trim();
    const cookieSession = headerKey ? undefined : readCookies(req)[SESSION_COOKIE];
    if (!headerKey && !cookieSession) throw new PlatformError('missing_api_key', 'Pass an API key as Authorization: Bearer <key> or x-api-key');
    if (cookieSession) checkCsrf(req, req.header(CSRF_HEADER));
    const principal = headerKey ? (headerKey.length <= 200 ? await authenticate(db, headerKey) : undefined) : await sessionPrincipal(db, cookieSession);
    if (!principal) throw new PlatformError('invalid_api_key', 'The API key is invalid or revoked');
    req.principal = principal;
    req.log = req.log.child({ workspace_id: principal.workspace_id, key_id: principal.key_id });
    next();
  };
}
