// The OAuth side of connected accounts (API.md 12) that both the API and the worker use: a user's access
// token for a tool call (refreshed before it expires), the token endpoint's calls, and where the run's app
// asks for the user's link. The flow itself (links, callback, revocation) is src/services/connections.ts.
// Tokens never leave this module in the clear except as the Authorization header of a tool's request.
import type { Config } from '../config';
import { transaction } from '../db/pool';
import * as repo from '../db/connections';
import { cell } from '../db/secret-cells';
import { PlatformError } from '../domain/errors';
import { covers, tokenResponseSchema, type TokenResponse } from '../domain/connection';
import { guardedFetch } from '../security/network-guard';
import { BODY_LIMITS, BodyTooLargeError, describeBytes, readBoundedText } from '../security/bounded-body';
import type { CoreDeps } from './deps';

/** What the flow needs, in the API (callback) and in the worker (check, token for a tool call). */
export type OAuthDeps = CoreDeps;

/** A token this close to its expiry is refreshed before use. */
const REFRESH_MARGIN_MS = 30_000;
export const TOKEN_TIMEOUT_MS = 15_000;

/**
 * What `auth.required`, the run object, its webhooks and the chat metadata publish as `authorization_url`:
 * the endpoint at which the app that created the run obtains the user's link (POST, its own key), never the
 * link itself, which would let any reader of events bind their own account to the user.
 */
export const authorizationLinkEndpoint = (config: Config, runId: string, toolCallId: string): string =>
  `${config.publicUrl}/v1/runs/${encodeURIComponent(runId)}/authorizations/${encodeURIComponent(toolCallId)}`;

/** The client's credentials for the token and revocation endpoints (client_secret_basic, RFC 6749 2.3.1). */
export function clientBasic(deps: OAuthDeps, conn: repo.ConnectionRow): string {
  const secret = deps.secrets.decrypt(conn.client_secret_enc, cell.connection(conn));
  return `Basic ${Buffer.from(`${encodeURIComponent(conn.client_id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/** One call of the token endpoint (client_secret_basic); an error names the status, never the body. */
export async function tokenRequest(deps: OAuthDeps, conn: repo.ConnectionRow, form: Record<string, string>): Promise<TokenResponse> {
  const basic = clientBasic(deps, conn);
  let res;
  try {
    res = await guardedFetch(deps.config.allowPrivateNetwork)(conn.token_url, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ ...form, client_id: conn.client_id }).toString(),
      signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
    });
  } catch {
    throw new PlatformError('authorization_server_unavailable', `The token endpoint of connection ${conn.id} is unreachable`, undefined, { 'Retry-After': '5' });
  }
  let text: string;
  try {
    text = await readBoundedText(res, BODY_LIMITS.token);
  } catch (err) {
    if (err instanceof BodyTooLargeError) throw new PlatformError('authorization_failed', `The token endpoint of connection ${conn.id} answered more than ${describeBytes(err.limit)}`);
    throw new PlatformError('authorization_server_unavailable', `The token endpoint of connection ${conn.id} did not finish its answer`, undefined, { 'Retry-After': '5' });
  }
  if (res.status !== 200) {
    const code = res.status === 400 || res.status === 401 ? 'authorization_failed' : 'authorization_server_unavailable';
    throw new PlatformError(code, `The token endpoint of connection ${conn.id} answered ${res.status}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const parsed = tokenResponseSchema.safeParse(body);
  if (!parsed.success) throw new PlatformError('authorization_failed', `The token endpoint of connection ${conn.id} answered without a usable access_token`);
  if (parsed.data.token_type && parsed.data.token_type.toLowerCase() !== 'bearer') {
    throw new PlatformError('authorization_failed', `Connection ${conn.id} issued a ${parsed.data.token_type} token; only bearer tokens are supported`);
  }
  return parsed.data;
}

export async function storeTokens(deps: OAuthDeps, db: Parameters<typeof repo.upsertToken>[0], conn: repo.ConnectionRow, user: string, t: TokenResponse, asked: string[], previousRefresh?: string | null) {
  await repo.upsertToken(db, {
    workspace_id: conn.workspace_id,
    connection_id: conn.id,
    user_reference: user,
    access_token_enc: deps.secrets.encrypt(t.access_token, cell.token(conn.workspace_id, conn.id, user, 'access_token')),
    // A refresh that does not rotate the refresh token keeps the one we had.
    refresh_token_enc: t.refresh_token ? deps.secrets.encrypt(t.refresh_token, cell.token(conn.workspace_id, conn.id, user, 'refresh_token')) : (previousRefresh ?? null),
    scopes: t.scope ? t.scope.split(' ').filter(Boolean) : asked,
    expires_at: t.expires_in !== undefined ? new Date(Date.now() + t.expires_in * 1000) : null,
  });
}

/**
 * The user's access token for a call that needs `scopes`, refreshed first when it is about to expire;
 * undefined when there is none (or it cannot be refreshed): the user has to authorize (again).
 */
export async function usableToken(deps: OAuthDeps, ws: string, connectionId: string, user: string, scopes: string[]): Promise<string | undefined> {
  const conn = await repo.getConnection(deps.db, ws, connectionId);
  if (!conn) return undefined;
  return transaction(deps.db, async (c) => {
    // Locked: two tool calls of one user refresh once, and the second one sees the new token.
    const t = await repo.getToken(c, ws, connectionId, user, true);
    if (!t || !covers(t.scopes, scopes)) return undefined;
    if (!t.expires_at || t.expires_at.getTime() - Date.now() > REFRESH_MARGIN_MS) return deps.secrets.decrypt(t.access_token_enc, cell.token(ws, connectionId, user, 'access_token'));
    if (!t.refresh_token_enc) return undefined;
    try {
      const fresh = await tokenRequest(deps, conn, { grant_type: 'refresh_token', refresh_token: deps.secrets.decrypt(t.refresh_token_enc, cell.token(ws, connectionId, user, 'refresh_token')) });
      await storeTokens(deps, c, conn, user, fresh, t.scopes, t.refresh_token_enc);
      deps.log.info({ workspace_id: ws, connection: connectionId }, 'access token refreshed');
      return fresh.access_token;
    } catch (err) {
      if (err instanceof PlatformError && err.code === 'authorization_failed') {
        // The refresh token was refused (revoked, expired): the user authorizes again.
        await repo.deleteToken(c, ws, connectionId, user);
        deps.log.warn({ workspace_id: ws, connection: connectionId, code: err.code }, 'refresh refused; the user must authorize again');
        return undefined;
      }
      throw err;
    }
  });
}

