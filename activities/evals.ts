// Activities of the eval workflow: its plan, one run per case (created idempotently, so a retried start
// finds the run it made), the verdict once that run has ended, and the summary.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import * as evals from '../src/db/evals';
import * as runs from '../src/db/runs';
import { mayPassLater, PlatformError, RUN_ERROR } from '../src/domain/errors';
import { judge, summarize, type EvalSummary, type Observed } from '../src/domain/eval';
import { isTerminal, runCreateSchema } from '../src/domain/run';
import type { ActivityDeps } from './deps';
import { activityLog } from './log';
import { engineOf } from '../src/temporal/engine';

const POLL_MS = 1000;

export function createEvalActivities(deps: ActivityDeps) {
  const { db, log } = deps;

  async function loadEval(evalId: string) {
    const e = await evals.getEval(db, evalId);
    if (!e) throw ApplicationFailure.nonRetryable(`Eval ${evalId} does not exist`, RUN_ERROR.internal_error);
    return e;
  }

  /** Cancels a case's run unless it has ended (a cancel of an ended workflow is not an error here). */
  async function cancelRunOf(runId: string): Promise<void> {
    const run = await runs.getRun(db, runId);
    if (!run || isTerminal(run.status)) return;
    try {
      await engineOf(deps.temporal).cancel(run.workflow_id);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }

  return {
    /** Marks the eval running; the cases without a verdict yet are the ones to run. */
    async startEval(evalId: string): Promise<{ concurrency: number; pending_case_ids: string[] }> {
      const e = await loadEval(evalId);
      await evals.markEvalStarted(db, evalId);
      const results = await evals.evalResults(db, evalId);
      return { concurrency: e.concurrency, pending_case_ids: results.filter((r) => r.status === 'pending' || r.status === 'running').map((r) => r.case_id) };
    },

    /**
     * Creates the case's run (or finds the one an earlier attempt created) and returns its id; null when
     * the run cannot be created at all (the agent was disabled, say), which is that case's failure.
     */
    async startEvalCase(evalId: string, caseId: string): Promise<string | null> {
      const e = await loadEval(evalId);
      if (e.status === 'canceled') return null;
      const version = await evals.getEvalSetVersion(db, e.eval_set_id, e.eval_set_version);
      const c = version?.cases.find((x) => x.id === caseId);
      if (!c) throw ApplicationFailure.nonRetryable(`Case ${caseId} is not in eval set ${e.eval_set_id} v${e.eval_set_version}`, RUN_ERROR.internal_error);
      const body = runCreateSchema.parse({ input: c.input, metadata: { eval_id: e.id, eval_case_id: c.id } });
      try {
        const run = await deps.startCaseRun(deps, e, caseId, body, e.id);
        await evals.setCaseRun(db, evalId, caseId, run.id);
        // Canceled meanwhile (this activity is not waited for once the eval is canceled): its run goes too.
        if ((await loadEval(evalId)).status === 'canceled') await cancelRunOf(run.id);
        return run.id;
      } catch (err) {
        // 429 (the active-run cap) and 503 (Temporal or PostgreSQL away) pass: the retry policy waits them out.
        if (!(err instanceof PlatformError) || mayPassLater(err)) throw err;
        activityLog(log, { workspace_id: e.workspace_id }).warn({ eval_id: evalId, case_id: caseId, code: err.code }, 'eval case run refused');
        await evals.storeVerdict(db, {
          eval_id: evalId, case_id: caseId, status: 'failed', run_status: null, failures: [{ expectation: 'status', message: `the run could not be created: ${err.message}` }],
          tool_calls: null, output_text: null, cost_usd: null, latency_ms: null, matched_tool_calls: 0, expected_tool_calls: c.expect.tool_calls?.length ?? 0,
        });
        return null;
      }
    },

    /** Waits (heartbeating) until the case's run has ended, then judges it against the case's expectations. */
    async judgeEvalCase(evalId: string, caseId: string, runId: string): Promise<{ passed: boolean }> {
      const ctx = Context.current();
      let run = await runs.getRun(db, runId);
      while (run && !isTerminal(run.status)) {
        ctx.heartbeat();
        await ctx.sleep(POLL_MS);
        run = await runs.getRun(db, runId);
      }
      const e = await loadEval(evalId);
      const version = await evals.getEvalSetVersion(db, e.eval_set_id, e.eval_set_version);
      const c = version!.cases.find((x) => x.id === caseId)!;
      if (!run) {
        // Its session was deleted while the eval ran: nothing is left to judge.
        await evals.storeVerdict(db, {
          eval_id: evalId, case_id: caseId, status: 'failed', run_status: null, failures: [{ expectation: 'status', message: `run ${runId} was deleted before it could be judged` }],
          tool_calls: null, output_text: null, cost_usd: null, latency_ms: null, matched_tool_calls: 0, expected_tool_calls: c.expect.tool_calls?.length ?? 0,
        });
        return { passed: false };
      }
      const tool_calls: Observed['tool_calls'] = [];
      for (let after = 0; ; ) {
        const page = await runs.listEvents(db, runId, after, 500);
        for (const ev of page) {
          if (ev.type !== 'tool_call.requested') continue;
          const call = (ev.data as { tool_call: { name: string; arguments: Record<string, unknown> } }).tool_call;
          tool_calls.push({ name: call.name, arguments: call.arguments });
        }
        if (page.length < 500) break;
        after = page[page.length - 1]!.seq;
      }
      const observed: Observed = {
        status: run.status,
        output_text: run.output_text,
        tool_calls,
        cost_usd: run.usage.cost_usd ?? 0,
        latency_ms: run.completed_at ? run.completed_at.getTime() - run.created_at.getTime() : null,
      };
      const v = judge(c.expect, observed);
      await evals.storeVerdict(db, {
        eval_id: evalId, case_id: caseId, status: v.passed ? 'passed' : 'failed', run_status: run.status, failures: v.failures, tool_calls,
        output_text: run.output_text, cost_usd: observed.cost_usd, latency_ms: observed.latency_ms, matched_tool_calls: v.matched_tool_calls, expected_tool_calls: v.expected_tool_calls,
      });
      return { passed: v.passed };
    },

    async finishEval(evalId: string): Promise<EvalSummary> {
      const summary = summarize(await evals.evalResults(db, evalId));
      await evals.finishEval(db, evalId, 'completed', summary, null);
      return summary;
    },

    /** A canceled eval (POST /v1/evals/:id/cancel): no case starts any more, the runs of open cases are canceled. */
    async cancelEval(evalId: string): Promise<void> {
      if (!(await evals.markEvalCanceled(db, evalId))) return;
      for (const runId of await evals.cancelOpenCases(db, evalId)) await cancelRunOf(runId);
      await evals.finishEval(db, evalId, 'canceled', summarize(await evals.evalResults(db, evalId)), null);
    },

    async failEval(evalId: string, message: string): Promise<void> {
      const results = await evals.evalResults(db, evalId);
      await evals.finishEval(db, evalId, 'failed', summarize(results), { code: 'internal_error', message });
    },
  };
}
