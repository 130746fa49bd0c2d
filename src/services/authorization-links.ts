// The user's authorization link for a run waiting in `waiting_auth` (issue 17, item 11). Events, webhooks
// and chat metadata only say that authorization is needed and where to ask (authorizationLinkEndpoint);
// the link itself goes to the app that created the run, the one that speaks for the session's user, and
// to nobody else, not even an admin: whoever opens a link first binds their account to that user.
import * as runs from '../db/runs';
import * as repo from '../db/connections';
import { PlatformError, notFound } from '../domain/errors';
import { scopesFor, toolAuthSchema } from '../domain/connection';
import type { Principal } from '../domain/workspace';
import { issueLink } from './connections';
import { getRun } from './runs';
import type { ServiceDeps } from './deps';

export async function authorizationLink(deps: ServiceDeps, p: Principal, runId: string, toolCallId: string) {
  const run = await runs.getRun(deps.db, runId, p.workspace_id);
  if (!run) throw notFound('run', 'id');
  // What is pending is no secret (every reader of the run sees it): checked first, 404 like any missing id.
  const pending = (await getRun(deps, p, runId)).pending_authorizations.find((a) => a.tool_call_id === toolCallId);
  if (!pending) throw notFound('pending authorization for this tool_call_id', 'tool_call_id');
  if (run.created_by_key_id !== p.key_id) {
    throw new PlatformError('permission_denied', "Only the API key that created this run (the application of the session's user) may obtain the user's authorization link");
  }
  const user = (await runs.getSession(deps.db, p.workspace_id, run.session_id))?.user_reference;
  const conn = await repo.getConnection(deps.db, p.workspace_id, pending.connection);
  if (!user || !conn) throw new PlatformError('authorization_not_pending', `Run ${runId} can no longer be authorized for connection ${pending.connection}`, 'tool_call_id');
  const auth = toolAuthSchema.safeParse(await repo.toolAuth(deps.db, p.workspace_id, pending.name));
  const scopes = auth.success ? scopesFor(auth.data, conn.scopes) : conn.scopes;
  const link = await issueLink(deps, conn, { user_reference: user, run_id: runId, tool_call_id: toolCallId, scopes });
  return {
    object: 'authorization_link' as const,
    run_id: runId,
    tool_call_id: toolCallId,
    connection: conn.id,
    user_reference: user,
    authorization_url: link.authorization_url,
    expires_at: link.expires_at.toISOString(),
  };
}
