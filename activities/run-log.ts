// Activities that read and write the run's platform data: its context, its events, its end.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { transaction } from '../src/db/pool';
import * as runs from '../src/db/runs';
import { newId } from '../src/db/ids';
import { RUN_ERROR } from '../src/domain/errors';
import type { AgentSpec } from '../src/domain/agent';
import type { Constraints, RunState } from '../src/domain/run';
import type { Message } from '../src/domain/message';
import type { PendingEvent } from '../src/domain/event';
import { eventIssues } from '../src/domain/run-event';
import type { ToolSpec } from '../src/domain/tool';
import type { WebhookEventType } from '../src/domain/webhook';
import * as governance from '../src/db/governance';
import type { ApprovalRecord, ClientToolRecord } from '../src/domain/approval';
import type { ActivityDeps } from './deps';
import { loadRunContext, RunContextError } from '../src/core/run-context';
import type { RunContext } from '../src/domain/run-context';
import { runView } from '../src/core/run-view';
import { enqueueWebhooks, messageIdFor, startDeliveries, type WebhookEvent } from './webhooks';
import { budgetAlerts } from './budget-alerts';
import { activityLog, runIds } from './log';
import { startHeartbeat } from './heartbeat';
import { engineOf } from '../src/temporal/engine';
import { EVENTS_CHANNEL, SESSION_EVENTS_CHANNEL, sessionNotice } from '../workflows/definitions';

export type { RunContext } from '../src/domain/run-context';

/**
 * A batch of numbered run events with the run's state, handed to a model or tool activity that stores it
 * before it does its work (patch 'store-with-activity-v1': one local activity fewer on each step's path).
 */
export interface EventBatch {
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

export function createRunLogActivities(deps: ActivityDeps) {
  const { db, log, config } = deps;
  /** The run's row and whether its session's turn is its own (every earlier run of the session has ended). */
  async function claimTurn(runId: string): Promise<{ claimed: boolean; run: runs.RunRow }> {
    return transaction(db, async (c) => {
      const run = await runs.getRunLockingSession(c, runId);
      if (!run) throw ApplicationFailure.nonRetryable(`Run ${runId} does not exist`, RUN_ERROR.internal_error);
      const claimed = (await runs.earlierUnfinishedRun(c, run.session_id, runId)) === undefined;
      activityLog(log, runIds(run)).debug({ claimed }, claimed ? 'session turn claimed' : 'waiting for an earlier run of the session');
      return { claimed, run };
    });
  }

  async function runRow(runId: string): Promise<runs.RunRow> {
    const run = await runs.getRun(db, runId);
    if (!run) throw ApplicationFailure.nonRetryable(`Run ${runId} does not exist`, RUN_ERROR.internal_error);
    return run;
  }

  async function contextOf(run: runs.RunRow): Promise<RunContext> {
    try {
      const ctx = await loadRunContext(db, config, run);
      activityLog(log, runIds(run)).debug({ agent_id: run.agent_id, agent_version: run.agent_version, tools: ctx.tools.length, environment_id: ctx.environment_id ?? null }, 'run context loaded');
      return ctx;
    } catch (err) {
      throw err instanceof RunContextError ? ApplicationFailure.nonRetryable(err.message, RUN_ERROR.internal_error) : err;
    }
  }

  const activities = {
    async loadRunContext(runId: string): Promise<RunContext> {
      return contextOf(await runRow(runId));
    },

    /** True when no earlier run of the session is unfinished, so this run may start now. */
    async claimSessionTurn(runId: string): Promise<boolean> {
      return (await claimTurn(runId)).claimed;
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
      await writeRunBatch(deps, runId, { events, state }, messages, extra);
      return events.filter((e) => GOVERNANCE_EVENTS.has(e.type));
    },

    /**
     * recordEvents for the batch that ends a run (patch 'answer-stored-with-model-v1'), which also says
     * when the run had already ended otherwise (its answer stored by the model activity while a cancel or
     * the timeout reached the workflow): then nothing was stored, and `ended` is the run's stored end.
     */
    async recordRunEnd(
      runId: string,
      events: PendingEvent[],
      state: RunState,
      messages?: Message[],
      extra?: StoreExtra,
    ): Promise<{ events: PendingEvent[]; ended?: RunState }> {
      const { ended } = await writeRunBatch(deps, runId, { events, state }, messages, extra);
      return { events: events.filter((e) => GOVERNANCE_EVENTS.has(e.type)), ...(ended ? { ended } : {}) };
    },
  };
  return {
    ...activities,
    /**
     * claimSessionTurn and, when the turn is the run's, loadRunContext, as one local activity: the start
     * of every run paid a workflow activation for each (patch 'store-with-activity-v1').
     */
    async beginRun(runId: string): Promise<{ claimed: false } | { claimed: true; context: RunContext }> {
      const { claimed, run } = await claimTurn(runId);
      return claimed ? { claimed, context: await contextOf(run) } : { claimed };
    },
  };
}

const GOVERNANCE_EVENTS = new Set(['policy.decided', 'approval.requested', 'approval.decided']);
const END_EVENTS = new Set(['run.completed', 'run.failed', 'run.canceled']);

/**
 * writeRunBatch for a batch handed to a model or tool activity, which stores it before it calls out:
 * retried here through a database (or Temporal) outage for as long as it takes, with heartbeats, until
 * the activity is canceled. Under the caller's retry policy a blip would fail a non-idempotent write
 * tool (one attempt) that never ran, or a run after the model call's four attempts.
 */
export async function writeHandedBatch(deps: ActivityDeps, runId: string, batch: EventBatch): Promise<void> {
  const ctx = Context.current();
  const stopHeartbeat = startHeartbeat();
  try {
    for (let wait = 500; ; wait = Math.min(wait * 2, 10_000)) {
      try {
        await writeRunBatch(deps, runId, batch);
        return;
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

/** What storing a batch found: `ended` when the run had already ended otherwise, and nothing was stored. */
export interface BatchOutcome {
  ended?: RunState;
}

/**
 * Stores a batch in one transaction (events, the run's state, approval and client-tool records, the
 * webhooks it causes; with `messages`, the run's transcript), wakes live subscribers, then starts the
 * webhook deliveries and signals the session's next queued run. Idempotent: a retry stores nothing twice.
 *
 * A run ends once. Its end can be stored by the model activity that got the answer (patch
 * 'answer-stored-with-model-v1') while the workflow, canceled or timed out meanwhile, stores an end of its
 * own with the same seqs: whichever commits first is the run's end, and the other batch stores nothing and
 * is told the stored end (`ended`). A retry of the batch that won finds its own end and goes on as before.
 */
export async function writeRunBatch(
  { db, temporal, log, config }: ActivityDeps,
  runId: string,
  { events, state }: EventBatch,
  messages?: Message[],
  extra?: StoreExtra,
): Promise<BatchOutcome> {
  const lastSeq = events.length ? events[events.length - 1]!.seq : 0;
  const ends = events.some((e) => END_EVENTS.has(e.type));
  let next: string | undefined;
  let deliveries: string[] = [];
  let runLog = activityLog(log, { run_id: runId });
  let workspaceId: string | undefined;
  let ended: RunState | undefined;
  await transaction(db, async (c) => {
    // The session's row stays locked until commit: its log numbers events in the order batches commit,
    // and a final batch (`messages`) holds it against a create deciding its run's turn meanwhile.
    const run = await runs.getRunForEventBatch(c, runId, messages ? 'update' : 'no key update');
    if (!run) throw ApplicationFailure.nonRetryable(`Run ${runId} does not exist`, RUN_ERROR.internal_error);
    runLog = activityLog(log, runIds(run));
    workspaceId = run.workspace_id;
    // An end batch sets the state first: a statement after the session's lock, so it sees any end that
    // committed while this batch waited for the lock (the row read with the lock may predate it).
    if (ends && !(await runs.updateRunState(c, runId, state, lastSeq))) {
      const stored = (await runs.getRun(c, runId))!;
      if (stored.status !== state.status || stored.last_seq < lastSeq) {
        ended = runs.storedEndState(stored);
        runLog.info({ stored: stored.status, offered: state.status }, 'the run had already ended: its end stays, this batch is not stored');
        return;
      }
    }
    const offCatalogue = events.flatMap((e) => eventIssues(e.type, e.data));
    // A bug of ours, not the user's: their run goes on, and the suite's teardown check fails on it.
    if (offCatalogue.length) runLog.error({ issues: offCatalogue.slice(0, 10) }, 'run events that do not match the run-event catalogue (src/domain/run-event.ts): stored as they are');
    const sessionSeq = await runs.insertEvents(c, run, run.session_event_seq, events.map((e) => ({ ...e, id: newId('evt') })));
    if (!ends) await runs.updateRunState(c, runId, state, lastSeq);
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
    if (lastSeq > 0) {
      await c.query('SELECT pg_notify($1, $2), pg_notify($3, $4)', [EVENTS_CHANNEL, `${runId}:${lastSeq}`, SESSION_EVENTS_CHANNEL, sessionNotice(run.session_id, runId, sessionSeq)]);
    }
  });
  if (ended) return { ended };
  runLog.debug({ first_seq: events[0]?.seq ?? null, last_seq: lastSeq, types: events.map((e) => e.type), status: state.status, webhook_deliveries: deliveries.length }, 'run events recorded');
  // A run's usage is final when it ends: then its workspace's budget thresholds are checked, in a
  // transaction of their own (the month's sum stays out of the one that holds the session's row).
  if (workspaceId && events.some((e) => END_EVENTS.has(e.type))) deliveries.push(...(await budgetAlerts(db, config, runLog, workspaceId)));
  // After commit; a failed start fails this activity, and its retry finds the rows and starts again.
  await startDeliveries(temporal, config, deliveries);
  if (next) {
    // The next queued run of the session also re-checks on its own, so a lost signal only delays it.
    await engineOf(temporal)
      .sessionTurn(next)
      .catch((err: unknown) => runLog.warn({ err, next }, 'could not signal the next queued run'));
  }
  return {};
}
