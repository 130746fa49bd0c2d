// Activities that read and write the run's platform data: its context, its events, its end.
import { ApplicationFailure } from '@temporalio/activity';
import { transaction } from '../src/db/pool';
import * as catalog from '../src/db/catalog';
import * as runs from '../src/db/runs';
import { newId } from '../src/db/ids';
import { RUN_ERROR } from '../src/domain/errors';
import type { AgentSpec } from '../src/domain/agent';
import type { Constraints, RunState } from '../src/domain/run';
import type { Message } from '../src/domain/message';
import type { PendingEvent } from '../src/domain/event';
import type { ToolSpec } from '../src/domain/tool';
import { sessionTurnSignal } from '../workflows/definitions';
import * as governance from '../src/db/governance';
import type { ApprovalRecord, ClientToolRecord } from '../src/domain/approval';
import type { ActivityDeps } from './deps';
import { remainingTokens } from '../src/services/limits';
import { runView } from '../src/services/runs';
import { enqueueWebhooks, messageIdFor, startDeliveries, type WebhookEvent } from './webhooks';
import { activityLog, runIds } from './log';

export const EVENTS_CHANNEL = 'ap_events';
export const DELTAS_CHANNEL = 'ap_deltas';

export interface RunContext {
  workspace_id: string;
  session_id: string;
  request_id: string | null;
  agent: AgentSpec;
  tools: ToolSpec[];
  /** The session's earlier messages, then this run's input. */
  history: Message[];
  input: Message[];
  constraints: Constraints;
  /** The workspace's remaining monthly token budget when the run started; absent = no budget. */
  tokens_remaining?: number;
}

/** The webhook events a batch of run events causes (API.md 6); data undefined = the run object. */
function webhookEventsOf(runId: string, events: PendingEvent[]): (Omit<WebhookEvent, 'data'> & { data?: unknown })[] {
  const out: (Omit<WebhookEvent, 'data'> & { data?: unknown })[] = [];
  for (const e of events) {
    const message_id = messageIdFor(runId, e.seq);
    if (e.type === 'run.completed' || e.type === 'run.failed' || e.type === 'run.canceled') out.push({ type: e.type, message_id });
    if (e.type === 'run.status_changed' && (e.data.to === 'waiting_approval' || e.data.to === 'tool_required')) {
      out.push({ type: e.data.to === 'waiting_approval' ? 'run.waiting_approval' : 'run.tool_required', message_id });
    }
    if (e.type === 'approval.decided') out.push({ type: 'approval.decided', message_id, data: { run_id: runId, ...e.data } });
  }
  return out;
}

export function createStoreActivities({ db, temporal, log, config }: ActivityDeps) {
  return {
    async loadRunContext(runId: string): Promise<RunContext> {
      const run = await runs.getRun(db, runId);
      if (!run) throw ApplicationFailure.nonRetryable(`Run ${runId} does not exist`, RUN_ERROR.internal_error);
      // Independent reads in parallel (on separate pooled connections): this is on every run's start path.
      const [version, messages, remaining] = await Promise.all([
        catalog.getAgentVersion(db, run.agent_id, run.agent_version),
        runs.sessionMessages(db, run.session_id),
        remainingTokens(db, config, run.workspace_id),
      ]);
      if (!version) throw ApplicationFailure.nonRetryable(`Agent version missing for run ${runId}`, RUN_ERROR.internal_error);
      const agent = version.spec as AgentSpec;
      const toolRows = await catalog.getToolsByName(db, run.workspace_id, agent.tools ?? []);
      const tools = toolRows.map((t) => ({ name: t.name, ...(t.spec as Omit<ToolSpec, 'name'>) }));
      const history = messages.filter((m) => m.run_id !== runId).map((m) => m.message);
      activityLog(log, runIds(run)).debug({ agent_id: run.agent_id, agent_version: run.agent_version, tools: tools.length }, 'run context loaded');
      return {
        ...(remaining !== undefined ? { tokens_remaining: remaining } : {}),
        workspace_id: run.workspace_id,
        session_id: run.session_id,
        request_id: run.request_id,
        agent,
        tools,
        history,
        input: run.input,
        constraints: run.constraints as Constraints,
      };
    },

    /** True when no earlier run of the session is unfinished, so this run may start now. */
    async claimSessionTurn(runId: string): Promise<boolean> {
      return transaction(db, async (c) => {
        const run = await runs.getRun(c, runId);
        if (!run) throw ApplicationFailure.nonRetryable(`Run ${runId} does not exist`, RUN_ERROR.internal_error);
        await c.query('SELECT id FROM sessions WHERE id = $1 FOR UPDATE', [run.session_id]);
        const claimed = (await runs.earlierUnfinishedRun(c, run.session_id, runId)) === undefined;
        activityLog(log, runIds(run)).debug({ claimed }, claimed ? 'session turn claimed' : 'waiting for an earlier run of the session');
        return claimed;
      });
    },

    /**
     * Stores events and the run's state in one transaction, then wakes live subscribers. Idempotent.
     * Returns the batch's policy and approval events: as a local activity its input is not in the
     * history, and the result is, so the replay audit (src/services/replay.ts) reads them there.
     */
    async recordEvents(
      runId: string,
      events: PendingEvent[],
      state: RunState,
      messages?: Message[],
      extra?: { approvals?: ApprovalRecord[]; client_tool_calls?: ClientToolRecord[] },
    ): Promise<PendingEvent[]> {
      const lastSeq = events.length ? events[events.length - 1]!.seq : 0;
      let next: string | undefined;
      let deliveries: string[] = [];
      let runLog = activityLog(log, { run_id: runId });
      await transaction(db, async (c) => {
        const run = await runs.getRun(c, runId);
        if (!run) throw ApplicationFailure.nonRetryable(`Run ${runId} does not exist`, RUN_ERROR.internal_error);
        runLog = activityLog(log, runIds(run));
        if (messages) await c.query('SELECT id FROM sessions WHERE id = $1 FOR UPDATE', [run.session_id]);
        await runs.insertEvents(c, runId, events.map((e) => ({ ...e, id: newId('evt') })));
        await runs.updateRunState(c, runId, state, lastSeq);
        for (const a of extra?.approvals ?? []) await governance.upsertApproval(c, run, a);
        for (const t of extra?.client_tool_calls ?? []) await governance.upsertClientToolCall(c, run, t);
        const hooks = webhookEventsOf(runId, events);
        if (hooks.length) {
          const view = runView((await runs.getRun(c, runId))!, state);
          deliveries = await enqueueWebhooks(c, run.workspace_id, hooks.map((h) => ({ ...h, data: h.data ?? view })));
        }
        if (messages) {
          await runs.insertMessages(c, run.session_id, runId, messages);
          next = (await runs.nextQueuedRun(c, run.session_id, runId))?.workflow_id;
        }
        if (lastSeq > 0) await c.query('SELECT pg_notify($1, $2)', [EVENTS_CHANNEL, `${runId}:${lastSeq}`]);
      });
      runLog.debug({ first_seq: events[0]?.seq ?? null, last_seq: lastSeq, types: events.map((e) => e.type), status: state.status, webhook_deliveries: deliveries.length }, 'run events recorded');
      // After commit; a failed start fails this activity, and its retry finds the rows and starts again.
      await startDeliveries(temporal, config, deliveries);
      if (next) {
        // The next queued run of the session also re-checks on its own, so a lost signal only delays it.
        await temporal.workflow
          .getHandle(next)
          .signal(sessionTurnSignal)
          .catch((err: unknown) => runLog.warn({ err, next }, 'could not signal the next queued run'));
      }
      return events.filter((e) => GOVERNANCE_EVENTS.has(e.type));
    },
  };
}

const GOVERNANCE_EVENTS = new Set(['policy.decided', 'approval.requested', 'approval.decided']);
