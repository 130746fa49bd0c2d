// Activities that read and write the run's platform data: its context, its events, its end.
import { ApplicationFailure, Context } from '@temporalio/activity';
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
import type { WebhookEventType } from '../src/domain/webhook';
import { sessionTurnSignal } from '../workflows/definitions';
import * as governance from '../src/db/governance';
import { environmentOfRun } from '../src/db/environments';
import { narrowTools } from '../src/domain/environment';
import { instructionsWithSkills, LOAD_SKILL_TOOL, loadSkillTool } from '../src/domain/skill';
import { skillsOf } from '../src/services/skills';
import { memoryToolsFor } from '../src/services/memory';
import type { ApprovalRecord, ClientToolRecord } from '../src/domain/approval';
import type { ActivityDeps } from './deps';
import { remainingTokens } from '../src/services/limits';
import { runView } from '../src/services/runs';
import { enqueueWebhooks, messageIdFor, startDeliveries, type WebhookEvent } from './webhooks';
import { activityLog, runIds } from './log';
import { startHeartbeat } from './heartbeat';

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
  /**
   * The session's environment (API.md 11), by reference only: `tools` is already narrowed to its
   * allowed_tools, and its overrides and variables are applied inside the tool activity at call time.
   */
  environment_id?: string;
  /** The workspace's remaining monthly token budget when the run started; absent = no budget. */
  tokens_remaining?: number;
  /** A case of a dry-run eval (API.md 10): write tools are answered from their dry run, never executed. */
  tool_mode?: 'dry_run';
}

/**
 * A batch of numbered run events with the run's state, handed to a model or tool activity that stores it
 * before it does its work (patch 'store-with-activity-v1': one local activity fewer on each step's path).
 */
export interface StoreBatch {
  events: PendingEvent[];
  state: RunState;
}

type StoreExtra = { approvals?: ApprovalRecord[]; client_tool_calls?: ClientToolRecord[] };

const PAUSED_EVENT: Record<string, WebhookEventType | undefined> = { waiting_approval: 'run.waiting_approval', tool_required: 'run.tool_required', waiting_auth: 'run.waiting_auth' };

/** The webhook events a batch of run events causes (API.md 6); data undefined = the run object. */
function webhookEventsOf(runId: string, events: PendingEvent[]): (Omit<WebhookEvent, 'data'> & { data?: unknown })[] {
  const out: (Omit<WebhookEvent, 'data'> & { data?: unknown })[] = [];
  for (const e of events) {
    const message_id = messageIdFor(runId, e.seq);
    if (e.type === 'run.completed' || e.type === 'run.failed' || e.type === 'run.canceled') out.push({ type: e.type, message_id });
    const paused = e.type === 'run.status_changed' ? PAUSED_EVENT[String(e.data.to)] : undefined;
    if (paused) out.push({ type: paused, message_id });
    if (e.type === 'approval.decided') out.push({ type: 'approval.decided', message_id, data: { run_id: runId, ...e.data } });
  }
  return out;
}

export function createStoreActivities(deps: ActivityDeps) {
  const { db, log, config } = deps;
  const activities = {
    async loadRunContext(runId: string): Promise<RunContext> {
      const run = await runs.getRun(db, runId);
      if (!run) throw ApplicationFailure.nonRetryable(`Run ${runId} does not exist`, RUN_ERROR.internal_error);
      // Independent reads in parallel (on separate pooled connections): this is on every run's start path.
      const [version, messages, remaining, environment] = await Promise.all([
        catalog.getAgentVersion(db, run.agent_id, run.agent_version),
        runs.sessionMessages(db, run.session_id),
        remainingTokens(db, config, run.workspace_id),
        environmentOfRun(db, run.workspace_id, runId),
      ]);
      if (!version) throw ApplicationFailure.nonRetryable(`Agent version missing for run ${runId}`, RUN_ERROR.internal_error);
      const spec = version.spec as AgentSpec;
      const [toolRows, skills, memoryTools] = await Promise.all([
        catalog.getToolsByName(db, run.workspace_id, spec.tools ?? []),
        skillsOf(db, run.workspace_id, spec.skills ?? []),
        memoryToolsFor(db, run.workspace_id, spec.memory),
      ]);
      // A tool outside the environment's allowed_tools is not the agent's tool in this run: the model is not
      // offered it, and the workflow's "not on the agent's list" rule denies a call to it (API.md 2.2).
      let tools = narrowTools(toolRows.map((t) => ({ name: t.name, ...(t.spec as Omit<ToolSpec, 'name'>) })), environment?.allowed_tools);
      let agent = spec;
      if (skills.length) {
        // Skills (API.md 11) are given to the run here, not in the workflow: the model is told each skill's
        // title and description in the instructions, and `load_skill` joins the agent's tools (replacing a
        // workspace tool of that name). The context is an activity result, so replays see the same.
        tools = [...tools.filter((t) => t.name !== LOAD_SKILL_TOOL), loadSkillTool(skills)];
        agent = {
          ...spec,
          instructions: instructionsWithSkills(spec.instructions ?? '', skills),
          tools: [...(spec.tools ?? []).filter((t) => t !== LOAD_SKILL_TOOL), LOAD_SKILL_TOOL],
        };
      }
      if (memoryTools.length) {
        // Memory (API.md 11), like skills: `memory_search` (and `memory_write` with `write: true`) join the
        // agent's tools, replacing workspace tools of those names; the store is looked up again at call time.
        const names = memoryTools.map((t) => t.name);
        tools = [...tools.filter((t) => !names.includes(t.name)), ...memoryTools];
        agent = { ...agent, tools: [...(agent.tools ?? []).filter((t) => !names.includes(t)), ...names] };
      }
      const history = messages.filter((m) => m.run_id !== runId).map((m) => m.message);
      activityLog(log, runIds(run)).debug({ agent_id: run.agent_id, agent_version: run.agent_version, tools: tools.length, skills: skills.length, environment_id: environment?.id ?? null }, 'run context loaded');
      return {
        ...(remaining !== undefined ? { tokens_remaining: remaining } : {}),
        ...(environment ? { environment_id: environment.id } : {}),
        ...(run.tool_mode ? { tool_mode: run.tool_mode } : {}),
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
      extra?: StoreExtra,
    ): Promise<PendingEvent[]> {
      await storeRunBatch(deps, runId, { events, state }, messages, extra);
      return events.filter((e) => GOVERNANCE_EVENTS.has(e.type));
    },
  };
  return {
    ...activities,
    /**
     * claimSessionTurn and, when the turn is the run's, loadRunContext, as one local activity: the start
     * of every run paid a workflow activation for each (patch 'store-with-activity-v1').
     */
    async beginRun(runId: string): Promise<{ claimed: false } | { claimed: true; context: RunContext }> {
      if (!(await activities.claimSessionTurn(runId))) return { claimed: false };
      return { claimed: true, context: await activities.loadRunContext(runId) };
    },
  };
}

const GOVERNANCE_EVENTS = new Set(['policy.decided', 'approval.requested', 'approval.decided']);

/**
 * storeRunBatch for a batch handed to a model or tool activity, which stores it before it calls out:
 * retried here through a database (or Temporal) outage for as long as it takes, with heartbeats, until
 * the activity is canceled. Under the caller's retry policy a blip would fail a non-idempotent write
 * tool (one attempt) that never ran, or a run after the model call's four attempts.
 */
export async function storeHandedBatch(deps: ActivityDeps, runId: string, batch: StoreBatch): Promise<void> {
  const ctx = Context.current();
  const stopHeartbeat = startHeartbeat();
  try {
    for (let wait = 500; ; wait = Math.min(wait * 2, 10_000)) {
      try {
        return await storeRunBatch(deps, runId, batch);
      } catch (err) {
        if (err instanceof ApplicationFailure && err.nonRetryable) throw err;
        activityLog(deps.log, { run_id: runId }).warn({ err: (err as Error).message, retry_in_ms: wait }, 'could not store the run events handed to this activity; retrying');
        await ctx.sleep(wait); // throws once the activity is canceled
      }
    }
  } finally {
    stopHeartbeat();
  }
}

/**
 * Stores a batch in one transaction (events, the run's state, approval and client-tool records, the
 * webhooks it causes; with `messages`, the run's transcript), wakes live subscribers, then starts the
 * webhook deliveries and signals the session's next queued run. Idempotent: a retry stores nothing twice.
 */
export async function storeRunBatch(
  { db, temporal, log, config }: ActivityDeps,
  runId: string,
  { events, state }: StoreBatch,
  messages?: Message[],
  extra?: StoreExtra,
): Promise<void> {
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
}
