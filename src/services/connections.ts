// Connected accounts (API.md 12): OAuth clients per workspace, the authorization-code flow with PKCE and
// a state bound to the run, the user and the browser that opened the link (issued only to the run's app,
// valid minutes), tokens stored encrypted per workspace, connection and user_reference, refreshed before
// they expire (src/core/oauth.ts, which the worker uses too). Tokens never leave these modules in the clear
// except as the Authorization header of a tool's request (activities/tools.ts).
import crypto from 'node:crypto';
import type { Config } from '../config';
import type { Db } from '../db/pool';
import { transaction } from '../db/pool';
import * as repo from '../db/connections';
import { PlatformError, notFound } from '../domain/errors';
import { isoDate, type ListQuery } from '../domain/common';
import type { ConnectionCreate } from '../domain/connection';
import type { Principal } from '../domain/workspace';
import { guardedFetch } from '../security/network-guard';
import type { SecretBox } from '../security/secrets';
import { cell } from '../db/secret-cells';
import { engineOf } from '../temporal/engine';
import { clientBasic, storeTokens, TOKEN_TIMEOUT_MS, tokenRequest, type OAuthDeps } from '../core/oauth';
import { checkOutbound } from './outbound-urls';
import { page, type ServiceDeps } from './deps';

const b64url = (b: Buffer): string => b.toString('base64url');
const sha256 = (s: string): string => crypto.createHash('sha256').update(s).digest('hex');

// ---------- the connection resource

export const connectionView = (c: repo.ConnectionRow) => ({
  id: c.id,
  object: 'connection' as const,
  authorize_url: c.authorize_url,
  token_url: c.token_url,
  revocation_url: c.revocation_url,
  client_id: c.client_id,
  client_secret: '[hidden]',
  scopes: c.scopes,
  created_at: isoDate(c.created_at),
  updated_at: isoDate(c.updated_at),
});

export async function createConnection(db: Db, secrets: SecretBox, p: Principal, b: ConnectionCreate, allowPrivate: boolean) {
  await checkOutbound(b.authorize_url, allowPrivate, 'authorize_url');
  await checkOutbound(b.token_url, allowPrivate, 'token_url');
  if (b.revocation_url) await checkOutbound(b.revocation_url, allowPrivate, 'revocation_url');
  const row = await repo.insertConnection(db, {
    workspace_id: p.workspace_id,
    id: b.id,
    authorize_url: b.authorize_url,
    token_url: b.token_url,
    revocation_url: b.revocation_url ?? null,
    client_id: b.client_id,
    client_secret_enc: secrets.encrypt(b.client_secret, cell.connection({ workspace_id: p.workspace_id, id: b.id })),
    scopes: b.scopes,
  });
  if (!row) throw new PlatformError('already_exists', `Connection ${b.id} already exists`, 'id');
  return connectionView(row);
}

async function connectionRow(db: Db, ws: string, id: string, param = 'id'): Promise<repo.ConnectionRow> {
  const row = await repo.getConnection(db, ws, id);
  if (!row) throw notFound('connection', param);
  return row;
}

export const getConnection = async (db: Db, p: Principal, id: string) => connectionView(await connectionRow(db, p.workspace_id, id));

export async function listConnections(db: Db, p: Principal, q: ListQuery) {
  const pg = page(await repo.listConnections(db, p.workspace_id, q.limit, q.after), q.limit);
  return { object: 'list' as const, ...pg, data: pg.data.map(connectionView) };
}

/** Refused while a tool declares it: the tool's calls would all fail. Its users' tokens go with it. */
export async function deleteConnection(db: Db, p: Principal, id: string) {
  return transaction(db, async (c) => {
    await connectionRow(db, p.workspace_id, id);
    const tools = await repo.toolsUsing(c, p.workspace_id, id);
    if (tools.length) throw new PlatformError('connection_in_use', `Tools ${tools.join(', ')} declare connection ${id}; change them first`, 'id');
    await repo.deleteConnection(c, p.workspace_id, id);
    return { id, object: 'connection' as const, deleted: true };
  });
}

/** Which users have a token (never the token). */
export async function listTokenUsers(db: Db, p: Principal, id: string) {
  await connectionRow(db, p.workspace_id, id);
  const rows = await repo.listTokenUsers(db, p.workspace_id, id);
  return {
    object: 'list' as const,
    data: rows.map((t) => ({ object: 'connection.token' as const, connection: id, user_reference: t.user_reference, scopes: t.scopes, expires_at: isoDate(t.expires_at), created_at: isoDate(t.created_at), updated_at: isoDate(t.updated_at) })),
    has_more: false,
    next_cursor: null,
  };
}

/**
 * Revokes a user's authorization: the tokens are deleted here first (the next run that needs them asks the
 * user again, whatever the provider says), then, when the connection has a revocation_url, the grant is
 * revoked there (RFC 7009: the refresh token, which also ends its access tokens, else the access token).
 * `provider_revoked`: true, false (the endpoint failed or refused; logged), or null (no revocation_url).
 */
export async function revokeToken(deps: OAuthDeps, p: Principal, id: string, userReference: string) {
  const conn = await connectionRow(deps.db, p.workspace_id, id);
  const deleted = await repo.deleteToken(deps.db, p.workspace_id, id, userReference);
  if (!deleted) throw notFound('token for this user_reference', 'user_reference');
  let provider_revoked: boolean | null = null;
  if (conn.revocation_url) {
    const [enc, hint] = deleted.refresh_token_enc ? [deleted.refresh_token_enc, 'refresh_token' as const] : [deleted.access_token_enc, 'access_token' as const];
    // Deleted here already: whatever fails from now on (even decrypting) is reported, not thrown.
    provider_revoked = await (async () => revokeAtProvider(deps, conn, deps.secrets.decrypt(enc, cell.token(p.workspace_id, id, userReference, hint)), hint))().catch((err: unknown) => {
      deps.log.warn({ connection: conn.id, workspace_id: p.workspace_id, reason: (err as Error).message }, 'token revocation at the provider failed');
      return false;
    });
  }
  return { object: 'connection.token' as const, connection: id, user_reference: userReference, deleted: true, provider_revoked };
}

/** RFC 7009 2.1: POST token and token_type_hint with the client's credentials; 200 is success (2.2). */
async function revokeAtProvider(deps: OAuthDeps, conn: repo.ConnectionRow, token: string, hint: string): Promise<boolean> {
  const res = await guardedFetch(deps.config.allowPrivateNetwork)(conn.revocation_url!, {
    method: 'POST',
    headers: { authorization: clientBasic(deps, conn), 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ token, token_type_hint: hint, client_id: conn.client_id }).toString(),
    signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
  });
  await res.body?.cancel().catch(() => undefined); // the answer's body says nothing we need (RFC 7009 2.2)
  if (res.status !== 200) throw new Error(`the revocation endpoint answered ${res.status}`);
  return true;
}

// ---------- the flow

export const redirectUri = (config: Config, connectionId: string): string => `${config.publicUrl}/v1/connections/${encodeURIComponent(connectionId)}/callback`;

/** How long an issued authorization link can be started and completed; the app asks for a new one after. */
export const AUTHORIZATION_LINK_SECONDS = 600;

/** The OAuth state is derived from the link's nonce: the state (seen by the provider) does not reveal it. */
const stateFor = (nonce: string): string => b64url(crypto.createHash('sha256').update(`ap-oauth-state\n${nonce}`).digest());

/** The cookie binding one flow to the browser that started it (one per flow: flows in parallel do not clash). */
export const bindingCookieName = (state: string): string => `ap_oauth_${sha256(state).slice(0, 16)}`;

/**
 * A new link for the user of a run's tool call: a one-time nonce (in the link only, stored as the hash of
 * the state derived from it) and a PKCE verifier (encrypted), valid AUTHORIZATION_LINK_SECONDS.
 */
export async function issueLink(
  deps: OAuthDeps,
  conn: repo.ConnectionRow,
  a: { user_reference: string; run_id: string; tool_call_id: string; scopes: string[] },
): Promise<{ authorization_url: string; expires_at: Date }> {
  const nonce = b64url(crypto.randomBytes(32));
  const expires_at = new Date(Date.now() + AUTHORIZATION_LINK_SECONDS * 1000);
  const state_hash = sha256(stateFor(nonce));
  await repo.insertState(deps.db, {
    state_hash,
    workspace_id: conn.workspace_id,
    connection_id: conn.id,
    user_reference: a.user_reference,
    run_id: a.run_id,
    tool_call_id: a.tool_call_id,
    code_verifier_enc: deps.secrets.encrypt(b64url(crypto.randomBytes(32)), cell.oauthState(conn.workspace_id, state_hash)),
    scopes: a.scopes,
    expires_at,
  });
  const url = `${deps.config.publicUrl}/v1/connections/${encodeURIComponent(conn.id)}/authorize?request=${nonce}`;
  return { authorization_url: url, expires_at };
}

/**
 * The user's browser opens the link: the flow is started once (a second opening is refused), the browser
 * gets the binding cookie the callback checks, and is sent on to the authorization server.
 */
export async function startAuthorization(deps: OAuthDeps, connectionId: string, nonce: string): Promise<{ location: string; cookie: { name: string; value: string; max_age: number } }> {
  const state = stateFor(nonce);
  const row = await repo.startState(deps.db, sha256(state), connectionId);
  if (!row) throw new PlatformError('invalid_state', 'This authorization link is unknown, expired or already used; ask the application for a new one');
  const conn = await connectionRow(deps.db, row.workspace_id, connectionId);
  const url = new URL(conn.authorize_url);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', conn.client_id);
  url.searchParams.set('redirect_uri', redirectUri(deps.config, conn.id));
  if (row.scopes.length) url.searchParams.set('scope', row.scopes.join(' '));
  url.searchParams.set('state', state);
  url.searchParams.set('code_challenge', b64url(crypto.createHash('sha256').update(deps.secrets.decrypt(row.code_verifier_enc, cell.oauthState(row.workspace_id, sha256(state)))).digest()));
  url.searchParams.set('code_challenge_method', 'S256');
  const max_age = Math.max(1, Math.ceil((row.expires_at.getTime() - Date.now()) / 1000));
  return { location: url.toString(), cookie: { name: bindingCookieName(state), value: nonce, max_age } };
}

const sameString = (a: string, b: string): boolean => {
  const [x, y] = [Buffer.from(a), Buffer.from(b)]; // compared as bytes: a non-ASCII state has more bytes than characters
  return x.length === y.length && crypto.timingSafeEqual(x, y);
};

/**
 * The authorization server's redirect back (unauthenticated: the user's browser). The browser must carry
 * the binding cookie of the flow it started; the state is then taken for its single use before anything
 * else happens; a forged, replayed, expired or foreign-browser one is refused and stores nothing. The
 * code is exchanged with the PKCE verifier, the tokens stored for the state's user, and every run of that
 * user waiting for this connection is told.
 */
export async function completeAuthorization(deps: ServiceDeps, connectionId: string, q: { state: string; code?: string; error?: string }, cookies: Record<string, string>): Promise<{ runs_signalled: number }> {
  // Checked before the state is taken: a stranger who saw the provider's URL cannot use or burn the flow.
  const nonce = cookies[bindingCookieName(q.state)];
  if (!nonce || !sameString(stateFor(nonce), q.state)) {
    throw new PlatformError('invalid_state', 'This authorization was not started in this browser from the application’s link; start again from the application');
  }
  const state = await repo.consumeState(deps.db, sha256(q.state), connectionId);
  if (!state) throw new PlatformError('invalid_state', 'This authorization link is unknown, expired or already used; start again from the application');
  const log = deps.log.child({ workspace_id: state.workspace_id, run_id: state.run_id, connection: connectionId });
  if (q.error || !q.code) {
    log.info({ error: q.error ?? 'no code' }, 'authorization refused at the authorization server');
    throw new PlatformError('authorization_denied', 'The authorization was not granted; the run keeps waiting until its authorization expires');
  }
  const conn = await connectionRow(deps.db, state.workspace_id, connectionId);
  const tokens = await tokenRequest(deps, conn, {
    grant_type: 'authorization_code',
    code: q.code,
    redirect_uri: redirectUri(deps.config, connectionId),
    code_verifier: deps.secrets.decrypt(state.code_verifier_enc, cell.oauthState(state.workspace_id, state.state_hash)),
  });
  const waiting = await transaction(deps.db, async (c) => {
    await storeTokens(deps, c, conn, state.user_reference, tokens, state.scopes);
    return repo.closeWaitingStates(c, state.workspace_id, connectionId, state.user_reference);
  });
  const own = (await deps.db.query<{ workflow_id: string }>('SELECT workflow_id FROM runs WHERE id = $1', [state.run_id])).rows[0];
  const workflows = new Set([...(own ? [own.workflow_id] : []), ...waiting.map((w) => w.workflow_id)]);
  for (const wf of workflows) {
    // A run that has ended since cannot be signalled; that is fine.
    await engineOf(deps.temporal).authorizationCompleted(wf, connectionId).catch((err: unknown) => log.debug({ err, workflow_id: wf }, 'could not signal a waiting run'));
  }
  log.info({ runs_signalled: workflows.size }, 'authorization completed');
  return { runs_signalled: workflows.size };
}
