// Signals, queries and updates of the run workflow, defined once and used by both the workflow and
// the services. Their string names are part of recorded histories: never rename them.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { RunState } from '../src/domain/run';
import type { RunContext } from '../src/domain/run-context';
import type { ApprovalDecision, ToolResolution } from '../src/domain/approval';

export const runStateQuery = defineQuery<RunState>('runState');

/** Sent by the run that ends before this one in the same session (`if_busy: "enqueue"`). */
export const sessionTurnSignal = defineSignal('sessionTurn');

export const RUN_WORKFLOW_TYPE = 'runWorkflow';

export const ACTION_WORKFLOW_TYPE = 'actionWorkflow';

export interface ActionWorkflowInput {
  action_id: string;
}

export interface RunWorkflowInput {
  run_id: string;
  /**
   * Given by the API when the run's turn in its session was its own at create (no earlier run of the session
   * unfinished): its context, loaded then, and the run starts without the beginRun activity (issue 18: one
   * local activity and one workflow activation fewer before the first model call). Absent (a run that waits
   * for its session, an idempotent retry's start, every history recorded before): beginRun claims the turn
   * and loads it. The branch follows the input, which the history holds, so replays take the same one.
   */
  context?: RunContext;
}

/** A human decided an approval (API: POST /v1/approvals/:id/approve|deny). A signal, not an update:
 * Temporal accepts it while every worker is down, so a decision never waits for a worker. */
export const approvalDecisionSignal = defineSignal<[ApprovalDecision]>('approvalDecision');

/** The caller resolved a client-executed tool call (API: POST /v1/runs/:id/tools/resolve). */
export const toolResolutionSignal = defineSignal<[ToolResolution]>('toolResolution');

/** A user completed an OAuth authorization of a connection (API: GET /v1/connections/:id/callback). */
export const authorizationCompletedSignal = defineSignal<[{ connection: string }]>('authorizationCompleted');

export const WEBHOOK_DELIVERY_WORKFLOW_TYPE = 'webhookDeliveryWorkflow';

export interface WebhookDeliveryInput {
  delivery_id: string;
  /** Seconds to wait after each failed attempt; after the last one the delivery has failed. */
  schedule_seconds: number[];
}

/**
 * Search attributes (Keyword) on run workflows, for filtering in the Temporal Web UI and `temporal
 * workflow list --query`. Part of the operator's contract: never rename. The workspace and agent are set
 * when the workflow starts; the status is kept current by the workflow (patch 'search-attributes-v1').
 * Action invocations carry the workspace only. Plain key objects: workflows import only @temporalio/workflow.
 */
export const SEARCH_ATTRIBUTES = {
  workspaceId: { name: 'ApWorkspaceId', type: 'KEYWORD' },
  agentId: { name: 'ApAgentId', type: 'KEYWORD' },
  runStatus: { name: 'ApRunStatus', type: 'KEYWORD' },
} as const;

export const EVAL_WORKFLOW_TYPE = 'evalWorkflow';

/**
 * PostgreSQL NOTIFY channels from the worker to every API process's event bus (services/event-bus.ts):
 * `<run id>:<last seq>` once a batch of events is stored; a token delta as JSON (domain/event DeltaNotice);
 * for the session's log, `<session id>:<run id>:<last session_seq>` with the same batch (sessionNotice).
 */
export const EVENTS_CHANNEL = 'ap_events';
export const DELTAS_CHANNEL = 'ap_deltas';
export const SESSION_EVENTS_CHANNEL = 'ap_session_events';

export const sessionNotice = (sessionId: string, runId: string, sessionSeq: string | number): string => `${sessionId}:${runId}:${sessionSeq}`;

export function parseSessionNotice(payload: string): { session_id: string; run_id: string; session_seq: number } | undefined {
  const [sessionId, runId, seq] = payload.split(':');
  const n = Number(seq);
  return sessionId && runId && Number.isSafeInteger(n) ? { session_id: sessionId, run_id: runId, session_seq: n } : undefined;
}

export interface EvalWorkflowInput {
  eval_id: string;
}
