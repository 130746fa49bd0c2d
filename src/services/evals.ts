// Evaluations (API.md 10): eval sets, evals (one Temporal workflow each), their results and comparisons,
// and the creation of a case's run for the eval activities.
import type { Db } from '../db/pool';
import { transaction } from '../db/pool';
import * as repo from '../db/evals';
import { findAgent, getAgentVersion } from '../db/agents';
import * as runRepo from '../db/runs';
import { newId } from '../db/ids';
import { PlatformError, notFound } from '../domain/errors';
import { isoDate, type ListQuery } from '../domain/common';
import { compare, type EvalCreate, type EvalSetCreate, type EvalSetUpdate } from '../domain/eval';
import type { RunCreate } from '../domain/run';
import { hasRole, type Principal } from '../domain/workspace';
import { EVAL_WORKFLOW_TYPE, SEARCH_ATTRIBUTES, type EvalWorkflowInput } from '../../workflows/definitions';
import { page, type ServiceDeps } from './deps';
import { createRunInSession, internalIdempotencyKey, workflowIdFor, type RunDeps } from './runs';
import { temporalCall } from './temporal-errors';
import { startWorkflowFor } from './workflow-start';
import { WorkflowNotFoundError } from '@temporalio/client';
import { feedbackCounts } from './feedback';
import type { FeedbackSummary } from '../domain/feedback';
import { engineOf } from '../temporal/engine';

// ---------- eval sets

const evalSetView = (s: repo.EvalSetRow, v: repo.EvalSetVersionRow) => ({
  id: s.id,
  object: 'eval_set' as const,
  name: s.name,
  version: v.version,
  cases: v.cases,
  created_at: isoDate(s.created_at),
  updated_at: isoDate(s.updated_at),
});

const taken = (name: string) => new PlatformError('already_exists', `Eval set ${name} already exists`, 'name');

async function resolveEvalSet(db: Db, ws: string, idOrName: string, param = 'id'): Promise<repo.EvalSetRow> {
  const row = await repo.findEvalSet(db, ws, idOrName);
  if (!row) throw notFound('eval set', param);
  return row;
}

export async function createEvalSet(db: Db, p: Principal, b: EvalSetCreate) {
  return transaction(db, async (c) => {
    const row = await repo.insertEvalSet(c, newId('evs'), p.workspace_id, b.name, b.cases);
    if (!row) throw taken(b.name);
    return evalSetView(row, (await repo.getEvalSetVersion(c, row.id, 1))!);
  });
}

/** The current version, or the one `?version=` names (earlier versions stay readable: evals ran them). */
export async function getEvalSet(db: Db, p: Principal, idOrName: string, version?: number) {
  const row = await resolveEvalSet(db, p.workspace_id, idOrName);
  const v = await repo.getEvalSetVersion(db, row.id, version ?? row.current_version);
  if (!v) throw notFound('eval set version', 'version');
  return evalSetView(row, v);
}

export async function listEvalSets(db: Db, p: Principal, q: ListQuery) {
  const pg = page(await repo.listEvalSets(db, p.workspace_id, q.limit, q.after), q.limit);
  return { object: 'list' as const, ...pg, data: pg.data.map((s) => evalSetView(s, { eval_set_id: s.id, version: s.current_version, cases: s.cases, created_at: s.updated_at })) };
}

export async function updateEvalSet(db: Db, p: Principal, idOrName: string, b: EvalSetUpdate) {
  return transaction(db, async (c) => {
    const current = await repo.findEvalSet(c, p.workspace_id, idOrName, true);
    if (!current) throw notFound('eval set', 'id');
    const row = await repo.updateEvalSet(c, current, b.name ?? current.name, b.cases);
    if (!row) throw taken(b.name!);
    return evalSetView(row, (await repo.getEvalSetVersion(c, row.id, row.current_version))!);
  });
}

// ---------- evals

/** `feedback` gives each result row its case run's feedback counts (null while the case has no run). */
export function evalView(e: repo.EvalRow, results?: repo.EvalResultRow[], feedback?: (runId: string) => FeedbackSummary) {
  return {
    id: e.id,
    object: 'eval' as const,
    eval_set_id: e.eval_set_id,
    eval_set_version: e.eval_set_version,
    agent_id: e.agent_id,
    agent_version: e.agent_version,
    tool_mode: e.tool_mode,
    concurrency: e.concurrency,
    status: e.status,
    summary: e.summary,
    error: e.error,
    created_at: isoDate(e.created_at),
    started_at: isoDate(e.started_at),
    completed_at: isoDate(e.completed_at),
    ...(results
      ? {
          results: results.map((r) => ({
            case_id: r.case_id,
            status: r.status,
            run_id: r.run_id,
            run_status: r.run_status,
            failures: r.failures,
            tool_calls: r.tool_calls,
            output_text: r.output_text,
            cost_usd: r.cost_usd,
            latency_ms: r.latency_ms,
            feedback: r.run_id && feedback ? feedback(r.run_id) : null,
            completed_at: isoDate(r.completed_at),
          })),
        }
      : {}),
  };
}

export async function createEval(deps: ServiceDeps, p: Principal, b: EvalCreate, requestId: string) {
  // `live` runs write tools for real: only an admin may cause that (API.md 10).
  if (b.tool_mode === 'live' && !hasRole(p)) throw new PlatformError('permission_denied', 'An eval with tool_mode "live" executes write tools and needs an admin key', 'tool_mode');
  const set = await resolveEvalSet(deps.db, p.workspace_id, b.eval_set, 'eval_set');
  const setVersion = b.eval_set_version ?? set.current_version;
  const cases = await repo.getEvalSetVersion(deps.db, set.id, setVersion);
  if (!cases) throw notFound('eval set version', 'eval_set_version');
  const agent = await findAgent(deps.db, p.workspace_id, b.agent);
  if (!agent || agent.archived_at) throw notFound('agent', 'agent');
  const agentVersion = b.agent_version ?? agent.current_version;
  if (!(await getAgentVersion(deps.db, agent.id, agentVersion))) throw notFound('agent version', 'agent_version');
  const row = await transaction(deps.db, async (c) => {
    if (!(await repo.shareLockEvalSet(c, set.id))) throw notFound('eval set', 'eval_set');
    return repo.insertEval(
      c,
      {
        id: newId('evl'),
        workspace_id: p.workspace_id,
        eval_set_id: set.id,
        eval_set_version: setVersion,
        agent_id: agent.id,
        agent_version: agentVersion,
        tool_mode: b.tool_mode,
        concurrency: b.concurrency,
        created_by_key_id: p.key_id,
      },
      cases.cases.map((x) => x.id),
    );
  });
  deps.log.info({ eval_id: row.id, request_id: requestId, cases: cases.cases.length }, 'eval created');
  await startWorkflowFor(
    deps.temporal,
    {
      type: EVAL_WORKFLOW_TYPE,
      workflowId: row.id,
      taskQueue: deps.config.temporal.taskQueue,
      args: [{ eval_id: row.id } satisfies EvalWorkflowInput],
      searchAttributes: [{ key: SEARCH_ATTRIBUTES.workspaceId, value: row.workspace_id }],
    },
    () => deps.db.query('DELETE FROM evals WHERE id = $1', [row.id]),
  );
  return evalView(row, await repo.evalResults(deps.db, row.id));
}

async function getEvalRow(db: Db, p: Principal, id: string): Promise<repo.EvalRow> {
  const e = await repo.getEval(db, id, p.workspace_id);
  if (!e) throw notFound('eval', 'id');
  return e;
}

export const getEval = async (db: Db, p: Principal, id: string) => {
  const e = await getEvalRow(db, p, id);
  const results = await repo.evalResults(db, e.id);
  // One aggregate query for all the case runs of the eval.
  return evalView(e, results, await feedbackCounts(db, results.flatMap((r) => (r.run_id ? [r.run_id] : []))));
};

/**
 * Deletes an ended eval and its per-case results. Its case runs are ordinary runs and stay (they go with
 * their sessions, or with retention). A canceled eval's workflow may still be canceling its case runs,
 * and needs the eval until it ends: 409 `eval_active` until then, as for a queued or running eval.
 */
export async function deleteEval(deps: ServiceDeps, p: Principal, id: string) {
  const e = await getEvalRow(deps.db, p, id);
  if (e.status === 'queued' || e.status === 'running') throw new PlatformError('eval_active', `The eval is ${e.status}; cancel it first (POST /v1/evals/${e.id}/cancel)`);
  try {
    const workflow = await temporalCall(() => engineOf(deps.temporal).describe(e.id));
    if (workflow.status.name === 'RUNNING') throw new PlatformError('eval_active', 'The eval is still ending (canceling the runs of its cases); retry in a moment');
  } catch (err) {
    // Past the namespace's retention Temporal has forgotten the workflow: it has long ended.
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  if (!(await repo.deleteEval(deps.db, e.id))) throw notFound('eval', 'id');
  return { id: e.id, object: 'eval' as const, deleted: true };
}

/** Refused (409 `eval_set_in_use`) while an eval refers to the set: its results and comparisons name the set's cases. */
export async function deleteEvalSet(db: Db, p: Principal, idOrName: string) {
  return transaction(db, async (c) => {
    const set = await repo.findEvalSet(c, p.workspace_id, idOrName, true);
    if (!set) throw notFound('eval set', 'id');
    const evals = await repo.evalCountOfSet(c, set.id);
    if (evals) throw new PlatformError('eval_set_in_use', `Eval set ${set.name} has ${evals} eval${evals === 1 ? '' : 's'}; delete ${evals === 1 ? 'it' : 'them'} first`, 'id');
    await repo.deleteEvalSet(c, set.id);
    return { id: set.id, object: 'eval_set' as const, deleted: true };
  });
}

/** Cancels an eval's workflow; it marks the eval canceled and cancels the runs of the cases in flight. */
export async function cancelEval(deps: ServiceDeps, p: Principal, id: string) {
  const e = await getEvalRow(deps.db, p, id);
  const notActive = (): PlatformError => new PlatformError('eval_not_active', `The eval is already ${e.status}`);
  if (e.status === 'completed' || e.status === 'failed' || e.status === 'canceled') throw notActive();
  try {
    await temporalCall(() => engineOf(deps.temporal).cancel(e.id));
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    throw notActive();
  }
  return evalView(await getEvalRow(deps.db, p, id), await repo.evalResults(deps.db, id));
}

export async function listEvals(db: Db, p: Principal, q: ListQuery & { eval_set?: string }) {
  let setId: string | undefined;
  if (q.eval_set) {
    const set = await repo.findEvalSet(db, p.workspace_id, q.eval_set);
    if (!set) return { object: 'list' as const, data: [], has_more: false, next_cursor: null };
    setId = set.id;
  }
  const pg = page(await repo.listEvals(db, p.workspace_id, { eval_set_id: setId, limit: q.limit, after: q.after }), q.limit);
  return { object: 'list' as const, ...pg, data: pg.data.map((e) => evalView(e)) };
}

/** Regressions of `id` against `otherId` (the baseline): both evals of one eval set, both completed. */
export async function compareEvals(db: Db, p: Principal, id: string, otherId: string) {
  const [current, other] = [await getEvalRow(db, p, id), await repo.getEval(db, otherId, p.workspace_id)];
  if (!other) throw notFound('eval', 'other_id');
  if (current.eval_set_id !== other.eval_set_id) throw new PlatformError('eval_set_mismatch', 'Both evals must run the same eval set', 'other_id');
  for (const [e, param] of [[current, 'id'], [other, 'other_id']] as const) {
    if (e.status !== 'completed' || !e.summary) throw new PlatformError('eval_not_completed', `Eval ${e.id} is ${e.status}; compare completed evals`, param);
  }
  const [a, b] = [await repo.evalResults(db, current.id), await repo.evalResults(db, other.id)];
  const failures = new Map(a.map((r) => [r.case_id, r.failures]));
  const diff = compare({ results: a, summary: current.summary! }, { results: b, summary: other.summary! });
  return {
    object: 'eval.comparison' as const,
    eval_id: current.id,
    other_id: other.id,
    regressions: diff.regressions.map((case_id) => ({ case_id, failures: failures.get(case_id) ?? [] })),
    improvements: diff.improvements.map((case_id) => ({ case_id })),
    metric_deltas: diff.metric_deltas,
  };
}

/**
 * A case's run in a fresh session of the eval's agent version. Idempotent per eval and case: a retried
 * activity finds the run the first attempt created (and starts its workflow if that attempt could not).
 */
export async function startCaseRun(deps: RunDeps, e: repo.EvalRow, caseId: string, body: RunCreate, requestId: string) {
  const p: Principal = { workspace_id: e.workspace_id, workspace_name: '', key_id: e.created_by_key_id ?? '', key_name: 'eval', roles: ['admin'] };
  // The server's own namespace: an eval in flight across the deploy of this change starts its remaining
  // cases afresh, once (the old derivation is the one a developer could plant a run under).
  const key = internalIdempotencyKey(`eval:${e.id}:${caseId}`);
  const extra = e.tool_mode === 'dry_run' ? { tool_mode: 'dry_run' as const } : {};
  const existing = await runRepo.getRunByWorkflowId(deps.db, workflowIdFor(e.workspace_id, key));
  if (existing) return createRunInSession(deps, p, existing.session_id, body, requestId, key, undefined, extra);
  const session = (await runRepo.insertSession(deps.db, {
    id: newId('ses'),
    workspace_id: e.workspace_id,
    agent_id: e.agent_id,
    agent_version: e.agent_version,
    title: `eval ${e.id} case ${caseId}`,
    if_busy: 'reject',
    metadata: { eval_id: e.id, eval_case_id: caseId },
    session_reference: null,
    user_reference: null,
    environment_id: null,
  }))!;
  try {
    return await createRunInSession(deps, p, session.id, body, requestId, key, undefined, extra);
  } catch (err) {
    await runRepo.deleteSessionWithoutRuns(deps.db, session.id).catch(() => undefined);
    throw err;
  }
}
