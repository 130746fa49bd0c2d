// The run object (API.md 3) as the API answers it and as webhooks carry it: from its row, with the live
// state of the workflow while the run is active.
import type { RunRow } from '../db/runs';
import { isoDate } from '../domain/common';
import type { RunObject } from '../domain/api-objects';
import type { RunState, RunStatus } from '../domain/run';

export type RunView = ReturnType<typeof runView>;

export function runView(r: RunRow, live?: RunState): RunObject {
  const s = live ?? {
    status: r.status,
    started_at: isoDate(r.started_at),
    completed_at: isoDate(r.completed_at),
    output: r.output,
    output_text: r.output_text,
    usage: r.usage,
    error: r.error,
    pending_approvals: [],
    pending_tool_calls: [],
    pending_authorizations: [],
  };
  return {
    id: r.id,
    object: 'run' as const,
    session_id: r.session_id,
    agent_id: r.agent_id,
    agent_version: r.agent_version,
    status: s.status as RunStatus,
    created_at: isoDate(r.created_at),
    started_at: s.started_at,
    completed_at: s.completed_at,
    input: r.input,
    output: s.output,
    output_text: s.output_text,
    pending_approvals: s.pending_approvals,
    pending_tool_calls: s.pending_tool_calls,
    /** While `waiting_auth`: who is asked to authorize which connection, at which URL (API.md 12). */
    pending_authorizations: s.pending_authorizations ?? [],
    usage: s.usage,
    error: s.error,
    metadata: r.metadata,
    /** `dry_run` for the runs of a dry-run eval (API.md 10), else `live`. */
    tool_mode: r.tool_mode ?? 'live',
    /** The reason of the first cancel request that gave one (`POST /v1/runs/:id/cancel {reason}`), else null. */
    cancel_reason: r.cancel_reason ?? null,
    request_id: r.request_id,
  };
}
