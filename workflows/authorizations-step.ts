// The gate's authorization step, for calls of tools that act for the session's user: each is checked (a
// usable token, else a new authorization URL); the run then waits in `waiting_auth`, with the approval
// timeout, until the user has authorized every connection asked for. A call whose authorization does not
// come in time fails.
import { condition, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { PendingAuthorization } from '../src/domain/run';
import { failCall, personTimeoutSeconds, type GateState, type Prepared } from './gate-state';

/** Patch: a tool that declares `auth` waits (`waiting_auth`) until the session's user authorized its connection (API.md 12). */
const OAUTH_PATCH = 'oauth-connections-v1';

// The check may refresh a token at the authorization server: retried while that server is away.
const authCheck = proxyActivities<Activities>({ startToCloseTimeout: '30s', retry: { initialInterval: '1s', maximumInterval: '10s', backoffCoefficient: 2 } });

type CheckResult = Awaited<ReturnType<Activities['checkAuthorization']>>;
interface Asked {
  p: Prepared;
  connection: string;
  /** Authorizations of the connection completed before the check: the wait ends with the next one. */
  seen: number;
  pending: PendingAuthorization;
}

/** The calls still open that need the user's authorization (an http tool that declares `auth`). */
export const needsAuthorization = (p: Prepared): boolean => !p.result && !!p.tool?.auth && p.tool.executor.type === 'http';

/** Whether the step waits for these calls; the patch is asked only when a tool declares auth (no recorded history has one). */
export const waitsForAuthorization = (gate: GateState, waiting: Prepared[]): boolean => waiting.length > 0 && gate.host.has(OAUTH_PATCH);

export async function awaitAuthorizations(gate: GateState, waiting: Prepared[]): Promise<void> {
  const { host } = gate;
  const timeout = personTimeoutSeconds(host);
  const asked: Asked[] = [];
  for (const p of waiting) {
    const auth = p.tool!.auth!;
    const seen = gate.authorized.get(auth.connection) ?? 0;
    const check = await authCheck.checkAuthorization({ workspace_id: host.workspace_id, run_id: host.run_id, tool_call_id: p.call.id, auth, ttl_seconds: timeout });
    const ask = settleCheck(gate, p, check, timeout);
    if (ask) asked.push({ p, connection: auth.connection, seen, pending: ask });
  }
  if (!asked.length) return;
  const done = (a: Asked): boolean => (gate.authorized.get(a.connection) ?? 0) > a.seen;
  // Reported by the run state query only (the run object's pending_authorizations): no command changes.
  host.state.pending_authorizations = asked.map((a) => a.pending);
  host.setStatus('waiting_auth');
  await host.flush();
  host.pauseDeadline?.();
  await condition(() => asked.every(done), timeout * 1000);
  host.resumeDeadline?.();
  host.state.pending_authorizations = [];
  for (const a of asked) {
    if (!done(a)) a.p.result = failCall(host, a.p.call, 'authorization_expired', `The user did not authorize connection ${a.connection} within ${timeout}s`);
  }
  host.setStatus('running');
  await host.flush();
}

/**
 * What a check means for the call: nothing (a usable token), a failure (an error, or a dry-run eval that
 * asks nobody), or the user's authorization to ask for (`auth.required`), returned for the wait.
 */
function settleCheck(gate: GateState, p: Prepared, check: CheckResult, timeout: number): PendingAuthorization | undefined {
  const { host } = gate;
  const connection = p.tool!.auth!.connection;
  if (check.ok) return undefined;
  if ('error' in check) {
    p.result = failCall(host, p.call, check.error.code, check.error.message);
  } else if (host.tool_mode === 'dry_run') {
    p.result = failCall(host, p.call, 'authorization_required', `Connection ${connection} needs the user's authorization, and an eval in dry_run mode asks nobody`);
  } else {
    const pending = { tool_call_id: p.call.id, name: p.call.name, connection, authorization_url: check.authorization_url, expires_at: new Date(Date.now() + timeout * 1000).toISOString() };
    host.emit('auth.required', { ...pending });
    return pending;
  }
  return undefined;
}
