// All activities of the worker, built from their dependencies (no module-level connections).
import type { ActivityDeps } from './deps';
import { createModelActivities } from './model';
import { createRunLogActivities } from './run-log';
import { createToolActivities } from './tools';
import { createActionActivities } from './actions';
import { createWebhookActivities } from './webhooks';
import { createEvalActivities } from './evals';
import { createConnectionActivities } from './connections';
import { createApprovalActivities } from './approvals';

export function createActivities(deps: ActivityDeps) {
  return {
    ...createRunLogActivities(deps),
    ...createModelActivities(deps),
    ...createToolActivities(deps),
    ...createActionActivities(deps),
    ...createWebhookActivities(deps),
    ...createEvalActivities(deps),
    ...createConnectionActivities(deps),
    ...createApprovalActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps } from './deps';
