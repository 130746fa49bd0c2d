// What one run workflow holds while it runs, in one object that each of its steps (run-start.ts,
// run-loop.ts, run-gate.ts, run-end.ts) is passed: the run's state as queried, its event log, which
// patches apply, the transcript, the timeout, and the tool gate with the signals that came before it.
import { patched, upsertSearchAttributes } from '@temporalio/workflow';
import type { ApprovalDecision, ToolResolution } from '../src/domain/approval';
import type { Message } from '../src/domain/message';
import type { RunState, RunStatus } from '../src/domain/run';
import { emptyUsage } from '../src/domain/usage';
import { SEARCH_ATTRIBUTES } from './definitions';
import { openRunLog, type RunLogBuffer } from './run-log-buffer';
import type { Deadline } from './run-deadline';
import type { ToolGate } from './tool-gate';

/**
 * Patch: every patch of the run workflow, the tool gate's and the policy engine's applies, under this one
 * marker. A patched() call of a new execution records a marker and upserts TemporalChangeVersion: a 1-step
 * run had four of each in its first workflow task, each a history event and the upserts a visibility write
 * on the server (issue 18). Histories without this marker call the individual patches as before. A new
 * patch still goes behind its own patched() (CURRENT_PATCH runs do not have it either), until the next
 * consolidation, which adds a new CURRENT_PATCH covering it.
 */
const CURRENT_PATCH = 'run-patches-current-v1';
/**
 * Patch: as CURRENT_PATCH, and 'answer-stored-with-model-v1' (run-loop.ts) too. A history with only
 * CURRENT_PATCH asks the patches added after it (AFTER_V1) one by one.
 */
const CURRENT_V2_PATCH = 'run-patches-current-v2';
const AFTER_V1 = new Set(['answer-stored-with-model-v1']);
/** Patch: every status change is upserted as the ApRunStatus search attribute (a history event each). */
const SEARCH_ATTRIBUTES_PATCH = 'search-attributes-v1';

export interface RunScope {
  run_id: string;
  /** What the run state query answers; stored with every batch. */
  state: RunState;
  /** Whether a patch applies: all of them under CURRENT_V2_PATCH (and those before it under CURRENT_PATCH), else as each one's marker says. */
  has(patch: string): boolean;
  /** Set when the run's end was stored outside the workflow (its answer, by the model activity): nothing is left to store. */
  endStored: boolean;
  events: RunLogBuffer;
  /** What every workflow log line about this run carries (the workspace and request once the context is loaded). */
  logIds: { run_id: string; workspace_id?: string; request_id?: string | null };
  /** The run's input and every message since: what the next model call is given after the session's history. */
  transcript: Message[];
  timeoutSeconds: number;
  /** Set when the run's timeout canceled it (a cancellation then is a failure, not a cancel). */
  timedOut: boolean;
  /** The run's timeout under PAUSABLE_TIMEOUT_PATCH (paused while a person is asked). */
  deadline?: Deadline;
  /** A session turn was signaled since the run last asked for it. */
  turnSignaled: boolean;
  /** Created at the first tool call of a governed run. */
  gate?: ToolGate;
  /** Signals that arrived before the gate existed (never in practice: nothing is pending then). */
  early: { decisions: ApprovalDecision[]; resolutions: ToolResolution[]; authorizations: string[] };
}

/** A queued run's scope. Asks its patches first, in the order of every history: the current one, then the store's. */
export function openRun(run_id: string): RunScope {
  const state: RunState = {
    status: 'queued',
    started_at: null,
    completed_at: null,
    output: [],
    output_text: null,
    usage: emptyUsage(),
    error: null,
    pending_approvals: [],
    pending_tool_calls: [],
    pending_authorizations: [],
  };
  const v2 = patched(CURRENT_V2_PATCH);
  const v1 = !v2 && patched(CURRENT_PATCH);
  const has = (patch: string): boolean => v2 || (v1 && !AFTER_V1.has(patch)) || patched(patch);
  return {
    run_id,
    state,
    has,
    events: openRunLog(run_id, state, has),
    logIds: { run_id },
    transcript: [],
    timeoutSeconds: 0,
    timedOut: false,
    endStored: false,
    turnSignaled: false,
    early: { decisions: [], resolutions: [], authorizations: [] },
  };
}

/**
 * The run's end as stored outside the workflow (by the model activity, with its answer): the run's state
 * becomes it, with the status search attribute, and nothing is emitted (its events are stored with it).
 */
export function adoptStoredEnd(run: RunScope, end: RunState): void {
  const from = run.state.status;
  Object.assign(run.state, end);
  run.endStored = true;
  if (from !== end.status && run.has(SEARCH_ATTRIBUTES_PATCH)) upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.runStatus, value: end.status }]);
}

/** Moves the run to a status: a `run.status_changed` event, and the search attribute under its patch. */
export function setStatus(run: RunScope, to: RunStatus): void {
  if (run.state.status === to) return;
  const from = run.state.status;
  run.state.status = to;
  run.events.emit('run.status_changed', { from, to });
  if (run.has(SEARCH_ATTRIBUTES_PATCH)) upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.runStatus, value: to }]);
}
