// Eval sets (versioned cases), evals and their per-case results.
import type { Queryable } from './pool';
import type { EvalCase, EvalSummary, Failure } from '../domain/eval';

export interface EvalSetRow {
  id: string;
  workspace_id: string;
  name: string;
  current_version: number;
  created_at: Date;
  updated_at: Date;
}

export interface EvalSetVersionRow {
  eval_set_id: string;
  version: number;
  cases: EvalCase[];
  created_at: Date;
}

export interface EvalRow {
  id: string;
  workspace_id: string;
  eval_set_id: string;
  eval_set_version: number;
  agent_id: string;
  agent_version: number;
  tool_mode: 'dry_run' | 'live';
  concurrency: number;
  status: 'queued' | 'running' | 'completed' | 'failed' | 'canceled';
  summary: EvalSummary | null;
  error: { code: string; message: string } | null;
  created_by_key_id: string | null;
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
}

export interface EvalResultRow {
  eval_id: string;
  case_id: string;
  position: number;
  status: 'pending' | 'running' | 'passed' | 'failed' | 'canceled';
  run_id: string | null;
  run_status: string | null;
  failures: Failure[];
  tool_calls: { name: string; arguments: Record<string, unknown> }[] | null;
  output_text: string | null;
  cost_usd: number | null;
  latency_ms: number | null;
  matched_tool_calls: number | null;
  expected_tool_calls: number | null;
  completed_at: Date | null;
}

const json = (v: unknown): string => JSON.stringify(v);

// ---------- eval sets

/** Undefined when the name is taken in the workspace. */
export async function insertEvalSet(q: Queryable, id: string, ws: string, name: string, cases: EvalCase[]): Promise<EvalSetRow | undefined> {
  const row = (await q.query<EvalSetRow>('INSERT INTO eval_sets (id, workspace_id, name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING *', [id, ws, name])).rows[0];
  if (row) await q.query('INSERT INTO eval_set_versions (eval_set_id, version, cases) VALUES ($1, 1, $2)', [id, json(cases)]);
  return row;
}

/** By id or by name, like agents. */
export async function findEvalSet(q: Queryable, ws: string, idOrName: string, forUpdate = false): Promise<EvalSetRow | undefined> {
  return (
    await q.query<EvalSetRow>(`SELECT * FROM eval_sets WHERE workspace_id = $1 AND (id = $2 OR name = $2) ORDER BY id = $2 DESC LIMIT 1${forUpdate ? ' FOR UPDATE' : ''}`, [ws, idOrName])
  ).rows[0];
}

export async function getEvalSetVersion(q: Queryable, setId: string, version: number): Promise<EvalSetVersionRow | undefined> {
  return (await q.query<EvalSetVersionRow>('SELECT * FROM eval_set_versions WHERE eval_set_id = $1 AND version = $2', [setId, version])).rows[0];
}

/** A page of eval sets, each with its current version's cases (one query). */
export async function listEvalSets(q: Queryable, ws: string, limit: number, after?: string): Promise<(EvalSetRow & { cases: EvalSetVersionRow['cases'] })[]> {
  return (
    await q.query<EvalSetRow & { cases: EvalSetVersionRow['cases'] }>(
      `SELECT s.*, v.cases FROM eval_sets s JOIN eval_set_versions v ON v.eval_set_id = s.id AND v.version = s.current_version
        WHERE s.workspace_id = $1 AND ($2::text IS NULL OR s.id > $2) ORDER BY s.id LIMIT $3`,
      [ws, after ?? null, limit + 1],
    )
  ).rows;
}

/** Undefined when the new name is taken (the caller holds the row). With `cases`, a new version. */
export async function updateEvalSet(q: Queryable, set: EvalSetRow, name: string, cases?: EvalCase[]): Promise<EvalSetRow | undefined> {
  const version = cases ? set.current_version + 1 : set.current_version;
  try {
    const row = (await q.query<EvalSetRow>('UPDATE eval_sets SET name = $2, current_version = $3, updated_at = now() WHERE id = $1 RETURNING *', [set.id, name, version])).rows[0];
    if (cases) await q.query('INSERT INTO eval_set_versions (eval_set_id, version, cases) VALUES ($1, $2, $3)', [set.id, version, json(cases)]);
    return row;
  } catch (err) {
    if ((err as { code?: string }).code === '23505') return undefined;
    throw err;
  }
}

/** The number of evals (of any status) that ran a version of the set. */
export async function evalCountOfSet(q: Queryable, setId: string): Promise<number> {
  return (await q.query<{ n: number }>('SELECT count(*)::int AS n FROM evals WHERE eval_set_id = $1', [setId])).rows[0]!.n;
}

/** Its versions go with it (cascade); the caller has checked that no eval refers to it. */
export async function deleteEvalSet(q: Queryable, setId: string): Promise<void> {
  await q.query('DELETE FROM eval_sets WHERE id = $1', [setId]);
}

/** Locks the set for share, so that a delete of it waits for the new eval (and then sees it); false when it is gone. */
export async function shareLockEvalSet(q: Queryable, setId: string): Promise<boolean> {
  return ((await q.query('SELECT 1 FROM eval_sets WHERE id = $1 FOR SHARE', [setId])).rowCount ?? 0) > 0;
}

// ---------- evals

export async function insertEval(
  q: Queryable,
  e: Pick<EvalRow, 'id' | 'workspace_id' | 'eval_set_id' | 'eval_set_version' | 'agent_id' | 'agent_version' | 'tool_mode' | 'concurrency' | 'created_by_key_id'>,
  caseIds: string[],
): Promise<EvalRow> {
  const row = (
    await q.query<EvalRow>(
      `INSERT INTO evals (id, workspace_id, eval_set_id, eval_set_version, agent_id, agent_version, tool_mode, concurrency, status, created_by_key_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', $9) RETURNING *`,
      [e.id, e.workspace_id, e.eval_set_id, e.eval_set_version, e.agent_id, e.agent_version, e.tool_mode, e.concurrency, e.created_by_key_id],
    )
  ).rows[0]!;
  await q.query(
    'INSERT INTO eval_results (eval_id, case_id, position) SELECT $1, c.id, c.ord - 1 FROM unnest($2::text[]) WITH ORDINALITY AS c(id, ord)',
    [e.id, caseIds],
  );
  return row;
}

export async function getEval(q: Queryable, id: string, ws?: string): Promise<EvalRow | undefined> {
  return (await q.query<EvalRow>('SELECT * FROM evals WHERE id = $1 AND ($2::text IS NULL OR workspace_id = $2)', [id, ws ?? null])).rows[0];
}

export async function listEvals(q: Queryable, ws: string, f: { eval_set_id?: string; limit: number; after?: string }): Promise<EvalRow[]> {
  return (
    await q.query<EvalRow>(
      `SELECT * FROM evals WHERE workspace_id = $1 AND ($2::text IS NULL OR eval_set_id = $2) AND ($3::text IS NULL OR id < $3)
        ORDER BY id DESC LIMIT $4`,
      [ws, f.eval_set_id ?? null, f.after ?? null, f.limit + 1],
    )
  ).rows;
}

/** An ended eval and its results (cascade); false when there was no such ended eval. */
export async function deleteEval(q: Queryable, id: string): Promise<boolean> {
  return ((await q.query("DELETE FROM evals WHERE id = $1 AND status NOT IN ('queued', 'running')", [id])).rowCount ?? 0) > 0;
}

export async function evalResults(q: Queryable, evalId: string): Promise<EvalResultRow[]> {
  return (await q.query<EvalResultRow>('SELECT * FROM eval_results WHERE eval_id = $1 ORDER BY position', [evalId])).rows;
}

export async function markEvalStarted(q: Queryable, id: string): Promise<void> {
  await q.query("UPDATE evals SET status = 'running', started_at = coalesce(started_at, now()) WHERE id = $1 AND status = 'queued'", [id]);
}

export async function setCaseRun(q: Queryable, evalId: string, caseId: string, runId: string): Promise<void> {
  await q.query("UPDATE eval_results SET run_id = $3, status = CASE WHEN status = 'pending' THEN 'running' ELSE status END WHERE eval_id = $1 AND case_id = $2", [evalId, caseId, runId]);
}

export async function storeVerdict(
  q: Queryable,
  r: Pick<EvalResultRow, 'eval_id' | 'case_id' | 'status' | 'run_status' | 'failures' | 'tool_calls' | 'output_text' | 'cost_usd' | 'latency_ms' | 'matched_tool_calls' | 'expected_tool_calls'>,
): Promise<void> {
  await q.query(
    `UPDATE eval_results SET status = $3, run_status = $4, failures = $5, tool_calls = $6, output_text = $7, cost_usd = $8, latency_ms = $9,
            matched_tool_calls = $10, expected_tool_calls = $11, completed_at = now()
      WHERE eval_id = $1 AND case_id = $2 AND status <> 'canceled'`,
    [r.eval_id, r.case_id, r.status, r.run_status, json(r.failures), json(r.tool_calls), r.output_text, r.cost_usd, r.latency_ms, r.matched_tool_calls, r.expected_tool_calls],
  );
}

/** Marks an eval canceled at once (a case run created from now on sees it); false when it had ended. */
export async function markEvalCanceled(q: Queryable, id: string): Promise<boolean> {
  const r = await q.query("UPDATE evals SET status = 'canceled', completed_at = coalesce(completed_at, now()) WHERE id = $1 AND status IN ('queued', 'running', 'canceled')", [id]);
  return (r.rowCount ?? 0) > 0;
}

/**
 * The cases of a canceled eval without a verdict become `canceled` (a verdict that comes later is not
 * stored); returns the runs of all its canceled cases, to be canceled (again, on a retry: harmless).
 */
export async function cancelOpenCases(q: Queryable, evalId: string): Promise<string[]> {
  await q.query("UPDATE eval_results SET status = 'canceled', completed_at = now() WHERE eval_id = $1 AND status IN ('pending', 'running')", [evalId]);
  const r = await q.query<{ run_id: string }>("SELECT run_id FROM eval_results WHERE eval_id = $1 AND status = 'canceled' AND run_id IS NOT NULL ORDER BY position", [evalId]);
  return r.rows.map((x) => x.run_id);
}

/**
 * An eval's end: completed or failed only while it is open (a finish that an abandoned activity commits
 * after a cancel does not overwrite `canceled`); canceled (with its summary) once marked so.
 */
export async function finishEval(q: Queryable, id: string, status: 'completed' | 'failed' | 'canceled', summary: EvalSummary | null, error: EvalRow['error']): Promise<EvalRow | undefined> {
  return (
    await q.query<EvalRow>(
      `UPDATE evals SET status = $2, summary = $3, error = $4, completed_at = coalesce(completed_at, now())
        WHERE id = $1 AND (status IN ('queued', 'running') OR (status = 'canceled' AND $2 = 'canceled')) RETURNING *`, [
      id,
      status,
      summary === null ? null : json(summary),
      error === null ? null : json(error),
    ])
  ).rows[0];
}
