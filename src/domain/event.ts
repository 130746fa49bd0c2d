// Run events (API.md 3.2). The workflow numbers them; the events activity stores them idempotently.

export const EVENT_TYPES = [
  'run.queued',
  'run.started',
  'step.started',
  'message.delta',
  'message.completed',
  'tool_call.requested',
  'policy.decided',
  'approval.requested',
  'approval.decided',
  'tool_call.required',
  'auth.required',
  'tool_call.started',
  'tool_call.completed',
  'skill.loaded',
  'tool_call.failed',
  'step.completed',
  'run.status_changed',
  'run.completed',
  'run.failed',
  'run.canceled',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];
export const TERMINAL_EVENTS: readonly string[] = ['run.completed', 'run.failed', 'run.canceled'];

/** An event as the workflow produces it: its seq is assigned there, so retries cannot shift it. */
export interface PendingEvent {
  seq: number;
  type: EventType;
  data: Record<string, unknown>;
}

/** A token delta; published to live subscribers only, never stored and never in workflow history. */
export interface DeltaNotice {
  run_id: string;
  step: number;
  attempt: number;
  text: string;
}
