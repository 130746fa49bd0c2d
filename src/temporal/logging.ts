// The Temporal SDK's log lines in our pino logger: workflow-logger lines (`log` from
// @temporalio/workflow) and activity-context lines at our level, the SDK's own (worker, core) from WARN.
import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import type { Logger } from 'pino';

const PINO_LEVEL: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };
const RANK: Record<LogLevel, number> = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4 };
/** Lines written by our code through the SDK's loggers; everything else is the SDK talking about itself. */
const OURS = new Set(['workflow', 'activity']);

// Temporal's attribute names, in the snake_case of our other fields. Its `runId` is the Temporal run,
// not ours (our run id is `run_id`, set by the workflow itself).
const RENAMED: Record<string, string> = {
  sdkComponent: 'sdk_component',
  taskQueue: 'task_queue',
  workflowId: 'workflow_id',
  runId: 'temporal_run_id',
  workflowType: 'workflow_type',
  activityId: 'activity_id',
  activityType: 'activity_type',
  isLocal: 'is_local',
  updateId: 'update_id',
  updateName: 'update_name',
};

export class PinoTemporalLogger implements TemporalLogger {
  constructor(private readonly pino: Logger) {}

  log(level: LogLevel, message: string, meta: LogMetadata = {}): void {
    const component = typeof meta.sdkComponent === 'string' ? meta.sdkComponent : undefined;
    if (!(component && OURS.has(component)) && RANK[level] < RANK.WARN) return;
    const fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(meta)) fields[RENAMED[k] ?? k] = v;
    this.pino[PINO_LEVEL[level]](fields, message);
  }

  trace = (message: string, meta?: LogMetadata): void => this.log('TRACE', message, meta);
  debug = (message: string, meta?: LogMetadata): void => this.log('DEBUG', message, meta);
  info = (message: string, meta?: LogMetadata): void => this.log('INFO', message, meta);
  warn = (message: string, meta?: LogMetadata): void => this.log('WARN', message, meta);
  error = (message: string, meta?: LogMetadata): void => this.log('ERROR', message, meta);
}
