// A session's event log (API.md 16): every event of the session's runs, numbered by `session_seq`
// without gaps across them (the event store assigns it: src/db/runs.ts insertEvents), as JSON pages, as
// the whole log, or followed live (api/sse.ts); and the session-level verbs: a user message that starts a
// run (posted and answered with the log, or fire-and-forget), and cancelling the session's active run.
import * as repo from '../db/runs';
import { notFound, PlatformError } from '../domain/errors';
import { TERMINAL_EVENTS } from '../domain/event';
import type { RunEvent } from '../domain/run-event';
import type { Message, UserMessage } from '../domain/message';
import { isPaused, normalizeInput, type RunCreate } from '../domain/run';
import type { SessionEventsPost, SessionEventsQuery, SessionMessage } from '../domain/session';
import type { Principal } from '../domain/workspace';
import type { ServiceDeps } from './deps';
import { cancelRun, createRunInSession, eventView, type RunStartHooks } from './runs';

async function sessionOf(deps: ServiceDeps, p: Principal, id: string): Promise<repo.SessionStatusRow> {
  const s = await repo.getSessionWithStatus(deps.db, p.workspace_id, id);
  if (!s) throw notFound('session', 'id');
  return s;
}

/** A page of the log after a session_seq, for a follower (the caller has checked the session is theirs). */
export const sessionEventPage = async (deps: Pick<ServiceDeps, 'db'>, sessionId: string, afterSeq: number, limit: number): Promise<RunEvent[]> =>
  (await repo.listSessionEvents(deps.db, sessionId, afterSeq, limit)).map(eventView);

/** Whether the session no longer exists: its followers end. */
export const sessionIsGone = async (deps: Pick<ServiceDeps, 'db'>, sessionId: string): Promise<boolean> => !(await repo.sessionExists(deps.db, sessionId));

/** `GET /v1/sessions/:id/events` as JSON: `{object: "list", data, has_more, next_after_seq}`. */
export async function listSessionEvents(deps: ServiceDeps, p: Principal, id: string, q: Pick<SessionEventsQuery, 'after_seq' | 'limit' | 'order'>) {
  await sessionOf(deps, p, id);
  const afterSeq = q.after_seq ?? 0;
  const rows = await repo.listSessionEvents(deps.db, id, afterSeq, q.limit + 1, q.order);
  const has_more = rows.length > q.limit;
  const data = (has_more ? rows.slice(0, q.limit) : rows).map(eventView);
  return { object: 'list' as const, data, has_more, next_after_seq: data.length ? data[data.length - 1]!.session_seq : afterSeq };
}

const LOG_PAGE = 1000;

/** `GET /v1/sessions/:id/log`: the whole log in session_seq order, read a page at a time. */
export async function sessionLog(deps: ServiceDeps, p: Principal, id: string): Promise<AsyncGenerator<RunEvent[]>> {
  await sessionOf(deps, p, id);
  return (async function* pages() {
    for (let after = 0; ; ) {
      const rows = await repo.listSessionEvents(deps.db, id, after, LOG_PAGE);
      if (rows.length === 0) return;
      yield rows.map(eventView);
      if (rows.length < LOG_PAGE) return;
      after = Number(rows[rows.length - 1]!.session_seq);
    }
  })();
}

/** Where a live stream of the session starts: its last session_seq now, and its unfinished run (whose deltas it hears). */
export async function sessionStreamStart(deps: ServiceDeps, p: Principal, id: string): Promise<{ session: repo.SessionStatusRow; lastSeq: number; activeRunId: string | undefined }> {
  const found = await repo.getSessionWithActiveRun(deps.db, p.workspace_id, id);
  if (!found) throw notFound('session', 'id');
  const { active_run_id, ...session } = found;
  return { session, lastSeq: Number(session.event_seq), activeRunId: active_run_id ?? undefined };
}

/** A user turn as a run's create body: the session's own `if_busy` unless the caller gave one. */
function turnBody(input: UserMessage[], ifBusy: 'reject' | 'enqueue', metadata: Record<string, unknown> = {}): RunCreate {
  return {
    input: input as RunCreate['input'],
    wait: false,
    stream: false,
    wait_timeout_seconds: 60,
    constraints: {},
    metadata,
    if_busy: ifBusy,
  };
}

/** `POST /v1/sessions/:id/messages`: the run of one user message; the route streams the log meanwhile. */
export async function postMessage(deps: ServiceDeps, p: Principal, session: repo.SessionStatusRow, b: SessionMessage, requestId: string, idempotencyKey: string | undefined, hooks: RunStartHooks) {
  const input = normalizeInput(typeof b.content === 'string' ? b.content : [{ role: 'user', content: b.content }]);
  return createRunInSession(deps, p, session.id, turnBody(input, b.if_busy ?? session.if_busy, b.metadata), requestId, idempotencyKey, input as Message[], hooks);
}

/** `POST /v1/sessions/:id/events`: the user messages become one run's input; 202 `{run_id}`. */
export async function postEvents(deps: ServiceDeps, p: Principal, id: string, b: SessionEventsPost, requestId: string, idempotencyKey: string | undefined) {
  const session = await sessionOf(deps, p, id);
  const input = normalizeInput(b.events.map((e) => ({ role: 'user' as const, content: e.content })));
  const run = await createRunInSession(deps, p, id, turnBody(input, session.if_busy), requestId, idempotencyKey, input as Message[]);
  return { object: 'session.events_accepted' as const, session_id: id, run_id: run.id, status: run.status };
}

/** `POST /v1/sessions/:id/cancel`: cancels the session's active run (the oldest unfinished); 409 `session_idle` when none. */
export async function cancelSessionRun(deps: ServiceDeps, p: Principal, id: string, reason: string | undefined) {
  const session = await repo.getSessionWithActiveRun(deps.db, p.workspace_id, id);
  if (!session) throw notFound('session', 'id');
  if (!session.active_run_id) throw new PlatformError('session_idle', 'The session has no active run', 'id');
  return cancelRun(deps, p, session.active_run_id, reason);
}

/**
 * When a messages stream ends: once the posted run has paused for a person or a client, or has ended and
 * the session is then idle or waiting (a run queued behind it keeps the stream open until it settles too).
 */
export function turnSettles(deps: Pick<ServiceDeps, 'db'>, sessionId: string, runId: string): (event: RunEvent) => Promise<boolean> {
  let ownEnded = false;
  return async (event) => {
    const own = event.run_id === runId;
    if (own && event.type === 'run.status_changed' && isPaused(event.data.to)) return true;
    if (own && TERMINAL_EVENTS.includes(event.type)) ownEnded = true;
    else if (!ownEnded || !(TERMINAL_EVENTS.includes(event.type) || event.type === 'run.status_changed')) return false;
    return (await repo.sessionStatus(deps.db, sessionId)) !== 'running';
  };
}
