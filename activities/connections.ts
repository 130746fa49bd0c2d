// The check before a tool call that acts for the session's user (API.md 12): a usable token of the
// tool's connection (refreshed if it is about to expire), or where the run's app asks for the user's
// link. That endpoint, not a link, reaches the workflow, its history and its events (issue 17, item 11):
// the link is a bearer credential for binding an account and goes only to the app (authorization-links).
// Tokens stay in PostgreSQL, encrypted.
import * as runs from '../src/db/runs';
import { getConnection } from '../src/db/connections';
import { scopesFor, type AuthorizationCheck, type ToolAuth } from '../src/domain/connection';
import { authorizationLinkEndpoint, usableToken } from '../src/core/oauth';
import type { ActivityDeps } from './deps';
import { activityLog } from './log';

export interface AuthorizationCheckInput {
  workspace_id: string;
  run_id: string;
  tool_call_id: string;
  auth: ToolAuth;
  /** How long the run waits (the agent's approval timeout); links live minutes and are issued on demand. */
  ttl_seconds: number;
}

/** The session's user: tokens are per workspace, connection and user_reference, across sessions. */
export async function userOfRun(db: ActivityDeps['db'], ws: string, runId: string): Promise<string | null> {
  const run = await runs.getRun(db, runId, ws);
  if (!run) return null;
  return (await runs.getSession(db, ws, run.session_id))?.user_reference ?? null;
}

export function createConnectionActivities(deps: ActivityDeps) {
  return {
    async checkAuthorization(input: AuthorizationCheckInput): Promise<AuthorizationCheck> {
      const user = await userOfRun(deps.db, input.workspace_id, input.run_id);
      if (!user) return { ok: false, error: { code: 'user_reference_required', message: `The tool needs connection ${input.auth.connection}, which acts for a user: the session has no user_reference` } };
      const conn = await getConnection(deps.db, input.workspace_id, input.auth.connection);
      if (!conn) return { ok: false, error: { code: 'unknown_connection', message: `Connection ${input.auth.connection} does not exist` } };
      const scopes = scopesFor(input.auth, conn.scopes);
      if (await usableToken(deps, input.workspace_id, conn.id, user, scopes)) return { ok: true };
      const authorization_url = authorizationLinkEndpoint(deps.config, input.run_id, input.tool_call_id);
      activityLog(deps.log, { run_id: input.run_id, workspace_id: input.workspace_id }).info({ connection: conn.id }, 'authorization required');
      return { ok: false, authorization_url };
    },
  };
}
