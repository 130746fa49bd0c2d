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

export function createStoreActivities({ db, temporal, log, config }: ActivityDeps) {
  return {
    async loadRunContext(runId: string): Promise<RunContext> {
      const run = await runs.getRun(db, runId);
      if (!run) throw ApplicationFailure.nonRetryable(`Run ${runId} does not exist`, RUN_ERROR.internal_error);
      const version = await catalog.getAgentVersion(db, run.agent_id, run.agent_version);
      if (!version) throw ApplicationFailure.nonRetryable(`Agent version missing for run ${runId}`, RUN_ERROR.internal_error);
      const agent = version.spec as AgentSpec;
      const toolRows = await catalog.getToolsByName(db, run.workspace_id, agent.tools ?? []);
      const tools = toolRows.map((t) => ({ name: t.name, ...(t.spec as Omit<ToolSpec, 'name'>) }));
      const history = (await runs.sessionMessages(db, run.session_id)).filter((m) => m.run_id !== runId).map((m) => m.message);
      const remaining = await remainingTokens(db, config, run.workspace_id);
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
        return (await runs.earlierUnfinishedRun(c, run.session_id, runId)) === undefined;
      });
    },

    /** Stores events and the run's state in one transaction, then wakes live subscribers. Idempotent. */
    async recordEvents(
      runId: string,
      events: PendingEvent[],
      state: RunState,
      messages?: Message[],
      extra?: { approvals?: ApprovalRecord[]; client_tool_calls?: ClientToolRecord[] },
    ): Promise<void> {
      const lastSeq = events.length ? events[events.length - 1]!.seq : 0;
      let next: string | undefined;
      await transaction(db, async (c) => {
        const run = await runs.getRun(c, runId);
        if (!run) throw ApplicationFailure.nonRetryable(`Run ${runId} does not exist`, RUN_ERROR.internal_error);
        if (messages) await c.query('SELECT id FROM sessions WHERE id = $1 FOR UPDATE', [run.session_id]);
        await runs.insertEvents(c, runId, events.map((e) => ({ ...e, id: newId('evt') })));
        await runs.updateRunState(c, runId, state, lastSeq);
        for (const a of extra?.approvals ?? []) await governance.upsertApproval(c, run, a);
        for (const t of extra?.client_tool_calls ?? []) await governance.upsertClientToolCall(c, run, t);
        if (messages) {
          await runs.insertMessages(c, run.session_id, runId, messages);
          next = (await runs.nextQueuedRun(c, run.session_id, runId))?.workflow_id;
        }
        if (lastSeq > 0) await c.query('SELECT pg_notify($1, $2)', [EVENTS_CHANNEL, `${runId}:${lastSeq}`]);
      });
      if (next) {
        // The next queued run of the session also re-checks on its own, so a lost signal only delays it.
        await temporal.workflow
          .getHandle(next)
          .signal(sessionTurnSignal)
          .catch((err: unknown) => log.warn({ err, run_id: runId, next }, 'could not signal the next queued run'));
      }
    },
  };
}
