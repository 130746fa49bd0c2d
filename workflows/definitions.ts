// Signals, queries and updates of the run workflow, defined once and used by both the workflow and
// the services. Their string names are part of recorded histories: never rename them.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { RunState } from '../src/domain/run';

export const runStateQuery = defineQuery<RunState>('runState');

/** Sent by the run that ends before this one in the same session (`if_busy: "enqueue"`). */
export const sessionTurnSignal = defineSignal('sessionTurn');

export const RUN_WORKFLOW_TYPE = 'runWorkflow';

export interface RunWorkflowInput {
  run_id: string;
}
