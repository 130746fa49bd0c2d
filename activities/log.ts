// One child logger per activity execution (STYLE.md 7): the ids of what it works on (run, workspace,
// the request that started it) plus the activity's type, attempt and workflow id, and with tracing on,
// the trace and span of its execution, so that a log line leads to its trace.
import { trace } from '@opentelemetry/api';
import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';

export interface LogIds {
  run_id?: string;
  action_id?: string;
  delivery_id?: string;
  workspace_id?: string;
  request_id?: string | null;
}

export function activityLog(log: Logger, ids: LogIds): Logger {
  const info = Context.current().info;
  const known = Object.fromEntries(Object.entries(ids).filter(([, v]) => v !== undefined));
  // Without tracing no span is ever active (the API's no-op default).
  const span = trace.getActiveSpan()?.spanContext();
  const traced = span ? { trace_id: span.traceId, span_id: span.spanId } : {};
  return log.child({ activity: info.activityType, attempt: info.attempt, workflow_id: info.workflowExecution?.workflowId, ...known, ...traced });
}

/** The ids of a stored run (or any row with the same columns). */
export const runIds = (run: { id: string; workspace_id: string; request_id: string | null }): LogIds => ({
  run_id: run.id,
  workspace_id: run.workspace_id,
  request_id: run.request_id,
});
