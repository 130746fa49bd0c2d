// Sessions, runs, their events and the session transcript.
import type { Queryable } from './pool';
import type { Message } from '../domain/message';
import type { PendingEvent } from '../domain/event';
import { PAUSED_STATUSES, type RunState, type Usage } from '../domain/run';

export interface SessionRow {
  id: string;
  workspace_id: string;
  agent_id: string;
  agent_version: number;
  title: string | null;
  metadata: Record<string, unknown>;
  session_reference: string | null;
  user_reference: string | null;
  environment_id: string | null;
  /** What a message posted while a run is active does (`POST /v1/sessions/:id/events`, `.../messages`). */
  if_busy: 'reject' | 'enqueue';
  /** The session_seq of the session's last stored event. */
  event_seq: string;
  created_at: Date;
  updated_at: Date;
}

/** A session as its list and reads show it: with `status`, from its runs. */
export interface SessionStatusRow extends SessionRow {
  status: 'idle' | 'running' | 'waiting';
}

export interface RunRow {
  id: string;
  workspace_id: string;
  session_id: string;
  agent_id: string;
  agent_version: number;
  workflow_id: string;
  status: string;
  input: Message[];
  constraints: Record<string, unknown>;
  output: Message[];
  output_text: string | null;
  usage: Usage;
  error: { code: string; message: string } | null;
  metadata: Record<string, unknown>;
  request_id: string | null;
  created_by_key_id: string | null;
  /** `dry_run` for a case of a dry-run eval (API.md 10): write tools are never executed. */
  tool_mode: 'dry_run' | null;
  /** The reason given with the first cancel request, if any. */
  cancel_reason: string | null;
  last_seq: number;
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
}

export interface EventRow {
  run_id: string;
  seq: number;
  /** Its place in the session's log (API.md 16); bigint, as pg returns it. */
  session_seq: string;
  id: string;
  type: string;
  data: Record<string, unknown>;
  created_at: Date;
}

/**
 * A session's status, from its runs (API.md 16): `waiting` while one is paused for a person or a client,
 * `running` while one is otherwise unfinished, `idle` when none is.
 */
const SESSION_STATUS = `(SELECT CASE WHEN bool_or(r.status IN (${PAUSED_STATUSES.map((st) => `'${st}'`).join(', ')})) THEN 'waiting'
                                      WHEN count(*) > 0 THEN 'running' ELSE 'idle' END
                           FROM runs r WHERE r.session_id = s.id AND r.status NOT IN ('completed', 'failed', 'canceled'))`;

export async function insertSession(q: Queryable, s: Omit<SessionRow, 'created_at' | 'updated_at' | 'event_seq'>): Promise<SessionStatusRow | undefined> {
  return (
    await q.query<SessionStatusRow>(
      `INSERT INTO sessions (id, workspace_id, agent_id, agent_version, title, metadata, session_reference, user_reference, environment_id, if_busy)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING RETURNING *, 'idle' AS status`,
      [s.id, s.workspace_id, s.agent_id, s.agent_version, s.title, s.metadata, s.session_reference, s.user_reference, s.environment_id, s.if_busy],
    )
  ).rows[0];
}

export async function getSession(q: Queryable, ws: string, id: string, forUpdate = false): Promise<SessionRow | undefined> {
  return (
    await q.query<SessionRow>(`SELECT * FROM sessions WHERE workspace_id = $1 AND id = $2${forUpdate ? ' FOR UPDATE' : ''}`, [ws, id])
  ).rows[0];
}

export async function sessionExists(q: Queryable, sessionId: string): Promise<boolean> {
  return (await q.query('SELECT 1 FROM sessions WHERE id = $1', [sessionId])).rowCount === 1;
}

/** A session with its status and its unfinished run, if any: where a live stream of its log starts. */
export async function getSessionWithActiveRun(q: Queryable, ws: string, id: string): Promise<(SessionStatusRow & { active_run_id: string | null }) | undefined> {
  return (
    await q.query<SessionStatusRow & { active_run_id: string | null }>(
      `SELECT s.*, ${SESSION_STATUS} AS status,
              (SELECT r.id FROM runs r WHERE r.session_id = s.id AND r.status NOT IN ('completed', 'failed', 'canceled') ORDER BY r.id LIMIT 1) AS active_run_id
         FROM sessions s WHERE s.workspace_id = $1 AND s.id = $2`,
      [ws, id],
    )
  ).rows[0];
}

/** The session's status now; undefined when it no longer exists. */
export async function sessionStatus(q: Queryable, sessionId: string): Promise<SessionStatusRow['status'] | undefined> {
  return (await q.query<{ status: SessionStatusRow['status'] }>(`SELECT ${SESSION_STATUS} AS status FROM sessions s WHERE s.id = $1`, [sessionId])).rows[0]?.status;
}

/** A session with its status, as the API shows it. */
export async function getSessionWithStatus(q: Queryable, ws: string, id: string): Promise<SessionStatusRow | undefined> {
  return (await q.query<SessionStatusRow>(`SELECT s.*, ${SESSION_STATUS} AS status FROM sessions s WHERE s.workspace_id = $1 AND s.id = $2`, [ws, id])).rows[0];
}

export async function getSessionByReference(q: Queryable, ws: string, ref: string): Promise<SessionStatusRow | undefined> {
  return (
    await q.query<SessionStatusRow>(`SELECT s.*, ${SESSION_STATUS} AS status FROM sessions s WHERE s.workspace_id = $1 AND s.session_reference = $2`, [ws, ref])
  ).rows[0];
}

export async function listSessions(
  q: Queryable,
  ws: string,
  f: { agent_id?: string; user_reference?: string; status?: SessionStatusRow['status']; after?: string; limit: number },
): Promise<SessionStatusRow[]> {
  return (
    await q.query<SessionStatusRow>(
      `SELECT * FROM (SELECT s.*, ${SESSION_STATUS} AS status FROM sessions s
                        WHERE s.workspace_id = $1 AND ($2::text IS NULL OR s.agent_id = $2)
                          AND ($3::text IS NULL OR s.user_reference = $3) AND ($4::text IS NULL OR s.id < $4)) l
        WHERE ($5::text IS NULL OR l.status = $5)
        ORDER BY l.id DESC LIMIT $6`,
      [ws, f.agent_id ?? null, f.user_reference ?? null, f.after ?? null, f.status ?? null, f.limit + 1],
    )
  ).rows;
}

/** A page of the session's log: its events after (`asc`) or before (`desc`, 0: from the newest) a session_seq. */
export async function listSessionEvents(q: Queryable, sessionId: string, afterSeq: number, limit: number, order: 'asc' | 'desc' = 'asc'): Promise<EventRow[]> {
  const sql =
    order === 'asc'
      ? 'SELECT * FROM run_events WHERE session_id = $1 AND session_seq > $2 ORDER BY session_seq LIMIT $3'
      : 'SELECT * FROM run_events WHERE session_id = $1 AND ($2::bigint = 0 OR session_seq < $2) ORDER BY session_seq DESC LIMIT $3';
  return (await q.query<EventRow>(sql, [sessionId, afterSeq, limit])).rows;
}

export async function deleteSession(q: Queryable, id: string): Promise<void> {
  await q.query('DELETE FROM sessions WHERE id = $1', [id]);
}

/** Removes a session only while no run belongs to it (a refused create's own session). */
export async function deleteSessionWithoutRuns(q: Queryable, id: string): Promise<void> {
  await q.query('DELETE FROM sessions s WHERE s.id = $1 AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.session_id = s.id)', [id]);
}

export async function activeRunOfSession(q: Queryable, sessionId: string): Promise<RunRow | undefined> {
  return (
    await q.query<RunRow>(
      `SELECT * FROM runs WHERE session_id = $1 AND status NOT IN ('completed', 'failed', 'canceled') ORDER BY id LIMIT 1`,
      [sessionId],
    )
  ).rows[0];
}

/** The SQLSTATE of a commit refused because its run took the workspace past its cap (migration 0022). */
export const ACTIVE_RUN_CAP_EXCEEDED = 'AP429';

/**
 * Inserts a run. Triggers count it among its workspace's active runs when the transaction commits
 * (migration 0022), and that commit fails with ACTIVE_RUN_CAP_EXCEEDED when the count, this run
 * included, exceeds `maxActiveRuns`: concurrent creates into one workspace wait for each other only
 * while one commits.
 */
export async function insertRun(
  q: Queryable,
  r: Omit<RunRow, 'created_at' | 'started_at' | 'completed_at' | 'last_seq' | 'output' | 'output_text' | 'error' | 'tool_mode' | 'cancel_reason'> & { tool_mode?: RunRow['tool_mode'] },
  maxActiveRuns: number,
): Promise<RunRow> {
  // The cap is set for the commit's check in the same statement (one round trip on every create's path).
  return (
    await q.query<RunRow>(
      `INSERT INTO runs (id, workspace_id, session_id, agent_id, agent_version, workflow_id, status, input, constraints, usage, metadata,
                         request_id, created_by_key_id, tool_mode)
       SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 FROM (SELECT set_config('ap.max_active_runs', $15, true)) cap
       RETURNING *`,
      [r.id, r.workspace_id, r.session_id, r.agent_id, r.agent_version, r.workflow_id, r.status, JSON.stringify(r.input),
        r.constraints, r.usage, r.metadata, r.request_id, r.created_by_key_id, r.tool_mode ?? null, String(maxActiveRuns)],
    )
  ).rows[0]!;
}

export async function getRunByWorkflowId(q: Queryable, workflowId: string): Promise<RunRow | undefined> {
  return (await q.query<RunRow>('SELECT * FROM runs WHERE workflow_id = $1', [workflowId])).rows[0];
}

export async function getRun(q: Queryable, id: string, ws?: string): Promise<RunRow | undefined> {
  return (await q.query<RunRow>('SELECT * FROM runs WHERE id = $1 AND ($2::text IS NULL OR workspace_id = $2)', [id, ws ?? null])).rows[0];
}

export async function listRuns(
  q: Queryable,
  ws: string,
  f: { session_id?: string; agent_id?: string; status?: string; created_after?: string; after?: string; limit: number },
): Promise<RunRow[]> {
  return (
    await q.query<RunRow>(
      `SELECT * FROM runs WHERE workspace_id = $1 AND ($2::text IS NULL OR session_id = $2) AND ($3::text IS NULL OR agent_id = $3)
          AND ($4::text IS NULL OR status = $4) AND ($5::timestamptz IS NULL OR created_at > $5) AND ($6::text IS NULL OR id < $6)
        ORDER BY id DESC LIMIT $7`,
      [ws, f.session_id ?? null, f.agent_id ?? null, f.status ?? null, f.created_after ?? null, f.after ?? null, f.limit + 1],
    )
  ).rows;
}

/** A run, with its session's row locked until the transaction ends, and the session's last session_seq. */
export async function getRunForEventBatch(q: Queryable, runId: string, lock: 'update' | 'no key update'): Promise<(RunRow & { session_event_seq: string }) | undefined> {
  return (
    await q.query<RunRow & { session_event_seq: string }>(
      `SELECT r.*, s.event_seq AS session_event_seq FROM runs r JOIN sessions s ON s.id = r.session_id WHERE r.id = $1 FOR ${lock === 'update' ? 'UPDATE' : 'NO KEY UPDATE'} OF s`,
      [runId],
    )
  ).rows[0];
}

/**
 * Stores a batch of workflow-numbered events; a replayed batch (activity retry) inserts nothing twice.
 * Each new event takes the next session_seq after `sessionEventSeq`, the session's counter as read under
 * its row's lock (getRunForEventBatch) in the same transaction: since every batch of the session waits
 * for that lock, this statement's snapshot already holds every earlier batch, so a retried batch finds
 * its events and numbers nothing twice, and no number is skipped. Returns the session's new last
 * session_seq (unchanged when nothing was new).
 */
export async function insertEvents(
  q: Queryable,
  run: { id: string; session_id: string },
  sessionEventSeq: string,
  events: (PendingEvent & { id: string })[],
): Promise<string> {
  if (events.length === 0) return sessionEventSeq;
  const r = await q.query<{ event_seq: string }>(
    `WITH inserted AS (
       INSERT INTO run_events (run_id, seq, id, type, data, session_id, session_seq)
       SELECT $1, e.seq, e.id, e.type, e.data, $2, $3::bigint + row_number() OVER (ORDER BY e.seq)
         FROM jsonb_to_recordset($4::jsonb) AS e(seq int, id text, type text, data jsonb)
        WHERE NOT EXISTS (SELECT 1 FROM run_events x WHERE x.run_id = $1 AND x.seq = e.seq)
       RETURNING session_seq)
     UPDATE sessions SET event_seq = (SELECT max(session_seq) FROM inserted)
      WHERE id = $2 AND EXISTS (SELECT 1 FROM inserted)
      RETURNING event_seq`,
    [run.id, run.session_id, sessionEventSeq, JSON.stringify(events)],
  );
  return r.rows[0]?.event_seq ?? sessionEventSeq;
}

/**
 * Stores the reason of a cancel request about to be sent, unless an earlier request gave one or the run
 * has ended (or its content was purged). True when this request's reason was stored.
 */
export async function setCancelReason(q: Queryable, runId: string, reason: string): Promise<boolean> {
  const r = await q.query(
    `UPDATE runs SET cancel_reason = $2
      WHERE id = $1 AND cancel_reason IS NULL AND content_purged_at IS NULL AND status NOT IN ('completed', 'failed', 'canceled')`,
    [runId, reason],
  );
  return (r.rowCount ?? 0) > 0;
}

export async function clearCancelReason(q: Queryable, runId: string): Promise<void> {
  await q.query('UPDATE runs SET cancel_reason = NULL WHERE id = $1', [runId]);
}

/** Stores the run's state, unless the run has ended or a later batch was stored; true when it did. */
export async function updateRunState(q: Queryable, runId: string, s: RunState, lastSeq: number): Promise<boolean> {
  const r = await q.query(
    `UPDATE runs SET status = $2, output = $3, output_text = $4, usage = $5, error = $6,
            started_at = COALESCE(started_at, $7::timestamptz), completed_at = $8::timestamptz, last_seq = GREATEST(last_seq, $9)
      WHERE id = $1 AND last_seq <= $9 AND status NOT IN ('completed', 'failed', 'canceled')`,
    [runId, s.status, JSON.stringify(s.output), s.output_text, s.usage, s.error, s.started_at, s.completed_at, lastSeq],
  );
  return (r.rowCount ?? 0) > 0;
}

/** An ended run's state as its row stores it (nothing is pending once a run has ended). */
export function storedEndState(row: RunRow): RunState {
  return {
    status: row.status as RunState['status'],
    started_at: row.started_at?.toISOString() ?? null,
    completed_at: row.completed_at?.toISOString() ?? null,
    output: row.output,
    output_text: row.output_text,
    usage: row.usage,
    error: row.error as RunState['error'],
    pending_approvals: [],
    pending_tool_calls: [],
    pending_authorizations: [],
  };
}

export async function listEvents(q: Queryable, runId: string, afterSeq: number, limit: number): Promise<EventRow[]> {
  return (
    await q.query<EventRow>('SELECT * FROM run_events WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3', [runId, afterSeq, limit])
  ).rows;
}

export async function insertMessages(q: Queryable, sessionId: string, runId: string, messages: Message[]): Promise<void> {
  if (messages.length === 0) return;
  await q.query(
    `INSERT INTO session_messages (session_id, run_id, position, message)
     SELECT $1, $2, m.ordinality - 1, m.value FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS m
     ON CONFLICT (run_id, position) DO NOTHING`,
    [sessionId, runId, JSON.stringify(messages)],
  );
}

export async function sessionMessages(q: Queryable, sessionId: string): Promise<{ run_id: string; message: Message; created_at: Date }[]> {
  return (
    await q.query<{ run_id: string; message: Message; created_at: Date }>(
      `SELECT m.run_id, m.message, m.created_at FROM session_messages m JOIN runs r ON r.id = m.run_id
        WHERE m.session_id = $1 ORDER BY r.id, m.position`,
      [sessionId],
    )
  ).rows;
}

/** The oldest run of the session that is not terminal and is older than `runId`: the one `runId` queues behind. */
/** The run, with its session's row locked until the transaction ends (a session's runs take turns). */
export async function getRunLockingSession(q: Queryable, runId: string): Promise<RunRow | undefined> {
  return (await q.query<RunRow>('SELECT r.* FROM runs r JOIN sessions s ON s.id = r.session_id WHERE r.id = $1 FOR UPDATE OF s', [runId])).rows[0];
}

export async function earlierUnfinishedRun(q: Queryable, sessionId: string, runId: string): Promise<RunRow | undefined> {
  return (
    await q.query<RunRow>(
      `SELECT * FROM runs WHERE session_id = $1 AND id < $2 AND status NOT IN ('completed', 'failed', 'canceled') ORDER BY id LIMIT 1`,
      [sessionId, runId],
    )
  ).rows[0];
}

export async function nextQueuedRun(q: Queryable, sessionId: string, afterRunId: string): Promise<RunRow | undefined> {
  return (
    await q.query<RunRow>(`SELECT * FROM runs WHERE session_id = $1 AND id > $2 AND status = 'queued' ORDER BY id LIMIT 1`, [
      sessionId,
      afterRunId,
    ])
  ).rows[0];
}
