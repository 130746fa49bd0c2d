// Sessions and runs: creation (one Temporal workflow per run), reads, cancellation and waiting.
import crypto from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { transaction, type Queryable } from '../db/pool';
import * as catalog from '../db/agents';
import { loadRunContext } from '../core/run-context';
import { runView, type RunView } from '../core/run-view';
import type { RunContext } from '../domain/run-context';
import * as repo from '../db/runs';
import { newId } from '../db/ids';
import { PlatformError, notFound } from '../domain/errors';
import { isoDate } from '../domain/common';
import type { AgentSpec } from '../domain/agent';
import { hasRole, type Principal } from '../domain/workspace';
import { emptyUsage, isPaused, isTerminal, normalizeInput, type RunCreate } from '../domain/run';
import type { SessionCreate, SessionListQuery } from '../domain/session';
import type { Message } from '../domain/message';
import { RUN_FEEDBACK_ITEMS } from '../domain/feedback';
import { TERMINAL_EVENTS } from '../domain/event';
import { RUN_WORKFLOW_TYPE, SEARCH_ATTRIBUTES, type RunWorkflowInput } from '../../workflows/definitions';
import { page, type ServiceDeps } from './deps';
import { temporalCall } from './temporal-errors';
import { startWorkflowFor } from './workflow-start';
import { checkRunBudget, tooManyActiveRuns } from './limits';
import { followRun } from './follow-run';
import { checkInputFiles } from './files';
import { resolveEnvironment } from './environments';
import { feedbackCounts, runFeedback } from './feedback';
import type { SessionObject } from '../domain/api-objects';
import type { RunEvent } from '../domain/run-event';
import { engineOf } from '../temporal/engine';

// ---------- sessions

export const sessionView = (s: repo.SessionStatusRow): SessionObject => ({
  id: s.id,
  object: 'session' as const,
  agent_id: s.agent_id,
  agent_version: s.agent_version,
  title: s.title,
  metadata: s.metadata,
  session_reference: s.session_reference,
  user_reference: s.user_reference,
  environment_id: s.environment_id,
  status: s.status,
  if_busy: s.if_busy,
  created_at: isoDate(s.created_at),
  updated_at: isoDate(s.updated_at),
});

export async function createSession(deps: ServiceDeps, p: Principal, b: SessionCreate): Promise<{ created: boolean; session: ReturnType<typeof sessionView> }> {
  const { created, row } = await createSessionRow(deps, p, b);
  return { created, session: sessionView(row) };
}

/** The session and, when it was created now, its agent's version (a run created in it at once needs both). */
async function createSessionRow(
  deps: ServiceDeps,
  p: Principal,
  b: SessionCreate,
): Promise<{ created: true; row: repo.SessionStatusRow; version: catalog.AgentVersionRow } | { created: false; row: repo.SessionStatusRow }> {
  const { agent, version } = await resolveEnabledAgent(deps, p, b.agent);
  const environment = b.environment === undefined ? undefined : await resolveEnvironment(deps.db, p.workspace_id, b.environment, 'environment');
  if (b.session_reference) {
    const existing = await repo.getSessionByReference(deps.db, p.workspace_id, b.session_reference);
    if (existing) return { created: false, row: checkOwner(existing, b.user_reference) };
  }
  const row = await repo.insertSession(deps.db, {
    id: newId('ses'),
    workspace_id: p.workspace_id,
    agent_id: agent.id,
    agent_version: agent.current_version,
    title: b.title ?? null,
    metadata: b.metadata ?? {},
    session_reference: b.session_reference ?? null,
    user_reference: b.user_reference ?? null,
    environment_id: environment?.id ?? null,
    if_busy: b.if_busy ?? 'reject',
  });
  if (row) return { created: true, row, version };
  // Lost a race with a concurrent create of the same reference: return the winner.
  const winner = await repo.getSessionByReference(deps.db, p.workspace_id, b.session_reference!);
  return { created: false, row: checkOwner(winner!, b.user_reference) };
}

/**
 * A session bound to a user_reference is that user's (their connected-account tokens follow it): it is
 * returned only to a caller naming the same user_reference. Omitting it is no way around the check.
 */
function checkOwner(s: repo.SessionStatusRow, userReference: string | undefined): repo.SessionStatusRow {
  if (s.user_reference !== null && s.user_reference !== userReference) {
    throw new PlatformError('permission_denied', 'This session_reference belongs to another user_reference', 'user_reference');
  }
  return s;
}

async function resolveEnabledAgent(deps: ServiceDeps, p: Principal, idOrName: string) {
  const agent = await catalog.findAgent(deps.db, p.workspace_id, idOrName);
  if (!agent || agent.archived_at) throw notFound('agent', 'agent');
  const version = (await catalog.getAgentVersion(deps.db, agent.id, agent.current_version))!;
  if ((version.spec as AgentSpec).enabled === false) throw new PlatformError('agent_disabled', `Agent ${agent.name} is disabled`, 'agent');
  return { agent, version };
}

/** What creating a run needs: also given by the eval activities, which have no event bus or codec. */
export type RunDeps = Pick<ServiceDeps, 'db' | 'config' | 'temporal' | 'log'>;

async function getSessionRow(deps: RunDeps, p: Principal, id: string): Promise<repo.SessionRow> {
  const s = await repo.getSession(deps.db, p.workspace_id, id);
  if (!s) throw notFound('session', 'id');
  return s;
}

export async function getSession(deps: ServiceDeps, p: Principal, id: string) {
  const s = await repo.getSessionWithStatus(deps.db, p.workspace_id, id);
  if (!s) throw notFound('session', 'id');
  return sessionView(s);
}

export async function listSessions(deps: ServiceDeps, p: Principal, q: SessionListQuery) {
  let agentId = q.agent_id;
  if (q.agent) {
    const agent = await catalog.findAgent(deps.db, p.workspace_id, q.agent);
    if (!agent || (agentId !== undefined && agent.id !== agentId)) return { object: 'list' as const, data: [], has_more: false, next_cursor: null };
    agentId = agent.id;
  }
  const rows = await repo.listSessions(deps.db, p.workspace_id, { agent_id: agentId, user_reference: q.user_reference, status: q.status, after: q.after, limit: q.limit });
  const pg = page(rows, q.limit);
  return { object: 'list' as const, ...pg, data: pg.data.map(sessionView) };
}

export async function sessionMessages(deps: ServiceDeps, p: Principal, id: string) {
  await getSessionRow(deps, p, id);
  const rows = await repo.sessionMessages(deps.db, id);
  return {
    object: 'list' as const,
    data: rows.map((r) => ({ object: 'message' as const, run_id: r.run_id, created_at: isoDate(r.created_at), ...r.message })),
    has_more: false,
    next_cursor: null,
  };
}

export async function deleteSession(deps: ServiceDeps, p: Principal, id: string) {
  return transaction(deps.db, async (c) => {
    const s = await repo.getSession(c, p.workspace_id, id, true);
    if (!s) throw notFound('session', 'id');
    if (await repo.activeRunOfSession(c, id)) throw new PlatformError('session_busy', 'The session has an active run', 'id');
    await repo.deleteSession(c, id);
    return { id, object: 'session' as const, deleted: true };
  });
}

// ---------- runs

export type { RunView };

/**
 * With an Idempotency-Key the workflow id is derived from it: a retry after a crash finds the same run.
 * User keys are printable ASCII (middleware/idempotency.ts), so a key with a line break is one only the
 * server makes: `internalIdempotencyKey` keeps the keys of eval case runs out of the users' namespace, or
 * a developer could plant the run an eval will judge by sending its key first (issue 17 item 14).
 */
export const workflowIdFor = (workspaceId: string, idempotencyKey: string): string =>
  `run-${crypto.createHash('sha256').update(`${workspaceId}\n${idempotencyKey}`).digest('hex').slice(0, 40)}`;
export const internalIdempotencyKey = (name: string): string => `internal\n${name}`;

export async function createRunInSession(
  deps: RunDeps,
  p: Principal,
  sessionId: string,
  b: RunCreate,
  requestId: string,
  idempotencyKey?: string,
  /** A whole conversation as input (the OpenAI-compatible endpoint); else `b.input`. */
  inputMessages?: Message[],
  extra: {
    /** Set only by evals (API.md 10): a dry-run eval's runs never execute a write tool. */
    tool_mode?: 'dry_run';
    /** A session created for this run a moment ago, with its agent's version: not read again. */
    created?: { session: repo.SessionRow; version: catalog.AgentVersionRow };
  } & RunStartHooks = {},
) {
  const session = extra.created?.session ?? (await getSessionRow(deps, p, sessionId));
  const version = extra.created?.version ?? (await catalog.getAgentVersion(deps.db, session.agent_id, session.agent_version));
  if ((version?.spec as AgentSpec | undefined)?.enabled === false) throw new PlatformError('agent_disabled', 'The agent of this session is disabled', 'agent');
  const runId = newId('run');
  const workflowId = idempotencyKey ? workflowIdFor(p.workspace_id, idempotencyKey) : runId;
  const existing = idempotencyKey ? await repo.getRunByWorkflowId(deps.db, workflowId) : undefined;
  // An idempotent retry of a run that already got past `queued` needs nothing started.
  if (existing && existing.status !== 'queued') return runView(existing);
  if (!existing) extra.beforeStart?.(runId);
  const input = inputMessages ?? normalizeInput(b.input);
  // Both checks at once (each a query on every create's path); a bad file is reported before the budget.
  const [files, budget] = await Promise.allSettled([
    checkInputFiles(deps.db, p.workspace_id, input),
    existing ? Promise.resolve(undefined) : checkRunBudget(deps.db, deps.config, p.workspace_id),
  ]);
  if (files.status === 'rejected') throw files.reason;
  if (budget.status === 'rejected') throw budget.reason;
  const cap = budget.value?.max_active_runs ?? 0;
  let turnIsOwn = false;
  // Admitted or refused by the commit (repo.insertRun).
  const insert = (q: Queryable): Promise<repo.RunRow> =>
    repo.insertRun(q, {
      id: runId,
      workspace_id: p.workspace_id,
      session_id: sessionId,
      agent_id: session.agent_id,
      agent_version: session.agent_version,
      workflow_id: workflowId,
      status: 'queued',
      input,
      constraints: b.constraints,
      usage: emptyUsage(),
      metadata: b.metadata,
      request_id: requestId,
      created_by_key_id: p.key_id,
      tool_mode: extra.tool_mode ?? null,
    }, cap);
  const store = (): Promise<repo.RunRow> => extra.created
    ? // A session this create made a moment ago: no one else knows its id yet, so it has no other run,
      // and the insert needs neither the session's lock nor a transaction of its own (four round trips).
      insert(deps.db).then((inserted) => {
        turnIsOwn = true;
        return inserted;
      })
    : transaction(deps.db, async (c) => {
        if (!(await repo.getSession(c, p.workspace_id, sessionId, true))) throw notFound('session', 'id');
        if (b.if_busy === 'reject' && (await repo.activeRunOfSession(c, sessionId))) {
          throw new PlatformError('session_busy', 'Another run of this session is active; retry later or pass if_busy: "enqueue"');
        }
        const inserted = await insert(c);
        // Under the session's lock: no earlier run can end unseen or begin meanwhile.
        turnIsOwn = (await repo.earlierUnfinishedRun(c, sessionId, runId)) === undefined;
        return inserted;
      });
  const row = existing ?? await store().catch((err: unknown) => {
    throw (err as { code?: string }).code === repo.ACTIVE_RUN_CAP_EXCEEDED ? tooManyActiveRuns(cap) : err;
  });
  // When the run need not wait for its session, its context goes with the start (the workflow then skips
  // beginRun); if it cannot be read now, the workflow reads it.
  let context: RunContext | undefined;
  if (turnIsOwn) {
    // What this create has read already is not read again (the version, the budget, an empty new session).
    const known = { ...(version ? { version } : {}), ...(budget.value ? { tokens_remaining: budget.value.tokens_remaining } : {}), new_session: extra.created !== undefined };
    context = await loadRunContext(deps.db, deps.config, row, known).catch((err: unknown) => {
      deps.log.debug({ err, run_id: row.id }, 'run context not loaded at create; the workflow loads it');
      return undefined;
    });
  }
  await startWorkflowFor(
    deps,
    {
      type: RUN_WORKFLOW_TYPE,
      workflowId: row.workflow_id,
      taskQueue: deps.config.temporal.taskQueue,
      args: [{ run_id: row.id, ...(context ? { context } : {}) } satisfies RunWorkflowInput],
      searchAttributes: [
        { key: SEARCH_ATTRIBUTES.workspaceId, value: row.workspace_id },
        { key: SEARCH_ATTRIBUTES.agentId, value: row.agent_id },
        { key: SEARCH_ATTRIBUTES.runStatus, value: 'queued' },
      ],
      keepLateStart: idempotencyKey !== undefined,
    },
    // Nothing runs this row: remove it so that the session is not left busy (a retry's existing row is kept).
    () => (existing ? Promise.resolve() : deps.db.query('DELETE FROM runs WHERE id = $1', [row.id])),
  );
  return runView(row);
}

/** What a caller of a create may do on the way. */
export interface RunStartHooks {
  /**
   * Called with a new run's id before anything of it is stored or started (not for an idempotent retry
   * of a run that exists): a stream subscribes here, so that it sees the run's first deltas.
   */
  beforeStart?: (runId: string) => void;
}

export const createOneOffRun = (deps: ServiceDeps, p: Principal, session: Pick<SessionCreate, 'agent' | 'environment'>, b: RunCreate, requestId: string, idempotencyKey?: string, hooks: RunStartHooks = {}) =>
  createRunInNewSession(deps, p, session, b, requestId, idempotencyKey, undefined, hooks);

/**
 * A run in a session of its own. A create that is refused (429 at the active-run cap, 402, 503) removes
 * the session it made: under overload every shed create left an empty session behind (issue 8, item 12).
 */
export async function createRunInNewSession(
  deps: ServiceDeps,
  p: Principal,
  s: SessionCreate,
  b: RunCreate,
  requestId: string,
  idempotencyKey?: string,
  inputMessages?: Message[],
  hooks: RunStartHooks = {},
) {
  if (idempotencyKey) {
    const existing = await repo.getRunByWorkflowId(deps.db, workflowIdFor(p.workspace_id, idempotencyKey));
    if (existing) return createRunInSession(deps, p, existing.session_id, b, requestId, idempotencyKey, inputMessages, hooks);
  }
  const made = await createSessionRow(deps, p, s);
  const session = made.row;
  try {
    return await createRunInSession(deps, p, session.id, b, requestId, idempotencyKey, inputMessages, made.created ? { ...hooks, created: { session, version: made.version } } : hooks);
  } catch (err) {
    if (made.created) await repo.deleteSessionWithoutRuns(deps.db, session.id).catch((e: unknown) => deps.log.warn({ err: e, session_id: session.id }, 'could not remove the session of a refused run'));
    throw err;
  }
}

async function getRunRow(deps: ServiceDeps, p: Principal, id: string): Promise<repo.RunRow> {
  const r = await repo.getRun(deps.db, id, p.workspace_id);
  if (!r) throw notFound('run', 'id');
  return r;
}

/**
 * A run as `GET /v1/runs/:id` shows it: its state and its `feedback` (counts and the newest
 * RUN_FEEDBACK_ITEMS items; all of them are in `GET /v1/runs/:id/feedback`).
 */
export async function getRun(deps: ServiceDeps, p: Principal, id: string) {
  const view = await runState(deps, p, id);
  return { ...view, feedback: await runFeedback(deps.db, id, RUN_FEEDBACK_ITEMS) };
}

/** While a run is active its state comes from the workflow (query); once ended, from PostgreSQL. */
async function runState(deps: ServiceDeps, p: Principal, id: string): Promise<RunView> {
  const row = await getRunRow(deps, p, id);
  if (isTerminal(row.status)) return runView(row);
  try {
    const live = await engineOf(deps.temporal).runState(row.workflow_id);
    // The workflow knows it ended a moment before PostgreSQL does: report an end only once it is stored,
    // so that a client who sees `completed` can start the session's next run at once.
    if (isTerminal(live.status)) return runView(await getRunRow(deps, p, id));
    return runView(row, live);
  } catch (err) {
    deps.log.debug({ err, run_id: id }, 'run state query failed; answering from PostgreSQL');
    const fresh = await getRunRow(deps, p, id);
    return runView(fresh);
  }
}

export async function listRuns(
  deps: ServiceDeps,
  p: Principal,
  q: { limit: number; after?: string; session_id?: string; agent?: string; status?: string; created_after?: string },
) {
  let agentId: string | undefined;
  if (q.agent) {
    const agent = await catalog.findAgent(deps.db, p.workspace_id, q.agent);
    if (!agent) return { object: 'list' as const, data: [], has_more: false, next_cursor: null };
    agentId = agent.id;
  }
  const rows = await repo.listRuns(deps.db, p.workspace_id, { ...q, agent_id: agentId });
  const pg = page(rows, q.limit);
  // Lists carry the feedback counts only, from one aggregate query for the page.
  const feedback = await feedbackCounts(deps.db, pg.data.map((r) => r.id));
  return { object: 'list' as const, ...pg, data: pg.data.map((r) => ({ ...runView(r), feedback: feedback(r.id) })) };
}

export async function cancelRun(deps: ServiceDeps, p: Principal, id: string, reason: string | undefined) {
  const row = await getRunRow(deps, p, id);
  if (!hasRole(p, 'developer')) throw new PlatformError('permission_denied', 'Canceling a run needs the developer or admin role');
  if (isTerminal(row.status)) throw new PlatformError('run_not_active', `The run is already ${row.status}`);
  // Stored before the cancel is sent, so that the run, once canceled (and its run.canceled webhook), has it;
  // taken back when the request fails.
  const stored = reason ? await repo.setCancelReason(deps.db, id, reason) : false;
  try {
    await temporalCall(() => engineOf(deps.temporal).cancel(row.workflow_id));
  } catch (err) {
    if (stored) await repo.clearCancelReason(deps.db, id).catch((e: unknown) => deps.log.warn({ err: e, run_id: id }, 'could not take back the reason of a failed cancel request'));
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    throw new PlatformError('run_not_active', 'The run is no longer active');
  }
  return runView(await getRunRow(deps, p, id));
}

/** Resolves once the run is terminal or needs someone (approval, client tool), or at the deadline. */
export async function waitForRun(deps: ServiceDeps, p: Principal, id: string, timeoutSeconds: number, signal?: AbortSignal): ReturnType<typeof getRun> {
  const row = await getRunRow(deps, p, id);
  if (isTerminal(row.status) || isPaused(row.status)) return getRun(deps, p, id);
  // The events after the state just read: the run's end, or its status changing to one that needs someone.
  const follow = followRun({
    bus: deps.bus,
    runId: id,
    afterSeq: row.last_seq,
    deltas: false,
    readPage: (afterSeq) => eventPage(deps, id, afterSeq, EVENT_PAGE),
    pageSize: EVENT_PAGE,
    readRun: () => runProgress(deps, id),
    pollMs: 1000,
  });
  const stop = (): void => follow.close();
  const deadline = setTimeout(stop, timeoutSeconds * 1000);
  signal?.addEventListener('abort', stop);
  try {
    for await (const item of follow) {
      if (item.kind !== 'event') continue;
      const e = item.event;
      if (TERMINAL_EVENTS.includes(e.type) || (e.type === 'run.status_changed' && isPaused(e.data.to))) break;
    }
  } finally {
    clearTimeout(deadline);
    signal?.removeEventListener('abort', stop);
    follow.close();
  }
  return getRun(deps, p, id);
}

const EVENT_PAGE = 200;

export async function listEvents(deps: ServiceDeps, p: Principal, id: string, afterSeq: number, limit: number) {
  await getRunRow(deps, p, id);
  const rows = await repo.listEvents(deps.db, id, afterSeq, limit + 1);
  const has_more = rows.length > limit;
  const data = (has_more ? rows.slice(0, limit) : rows).map(eventView);
  return { object: 'list' as const, data, has_more, next_after_seq: data.length ? data[data.length - 1]!.seq : afterSeq };
}

/** A page of a run's stored events after a seq, for a follower (the caller has checked the run is theirs). */
export const eventPage = async (deps: ServiceDeps, runId: string, afterSeq: number, limit: number) =>
  (await repo.listEvents(deps.db, runId, afterSeq, limit)).map(eventView);

/** Where a followed run stands: its status and the seq of its last event. */
export const runProgress = async (deps: ServiceDeps, runId: string): Promise<{ status: string; last_seq: number } | undefined> => {
  const row = await repo.getRun(deps.db, runId);
  return row && { status: row.status, last_seq: row.last_seq };
};

/** A stored event as the API shows it: typed by the catalogue (src/domain/run-event.ts), which the event store checks. */
export const eventView = (e: repo.EventRow): RunEvent =>
  ({
    id: e.id,
    object: 'run.event' as const,
    run_id: e.run_id,
    seq: e.seq,
    session_seq: Number(e.session_seq),
    type: e.type,
    created_at: isoDate(e.created_at)!,
    data: e.data,
  }) as RunEvent;

export { getRunRow };
