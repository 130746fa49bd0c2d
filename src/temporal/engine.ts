// The one door to the run engine: every start, signal, query, cancel and history read of a workflow by
// services and activities goes through here, typed by the contract in workflows/definitions.ts (workflow
// types, inputs, signals, queries, NOTIFY channels). Lint keeps `client.workflow.*` out of src/services
// and activities (eslint.config.mjs). Errors are Temporal's own: the services map them to API errors.
import type { Client, WorkflowExecutionDescription, WorkflowStartOptions } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import type { ApprovalDecision, ToolResolution } from '../domain/approval';
import type { RunState } from '../domain/run';
import {
  approvalDecisionSignal,
  authorizationCompletedSignal,
  runStateQuery,
  sessionTurnSignal,
  toolResolutionSignal,
  WEBHOOK_DELIVERY_WORKFLOW_TYPE,
  type WebhookDeliveryInput,
} from '../../workflows/definitions';

export type StartOptions = Pick<WorkflowStartOptions, 'workflowId' | 'taskQueue' | 'args' | 'typedSearchAttributes'>;

export interface Engine {
  /** Starts a workflow; a second start of the same id fails with WorkflowExecutionAlreadyStartedError. */
  start(type: string, options: StartOptions): Promise<void>;
  describe(workflowId: string): Promise<WorkflowExecutionDescription>;
  /** Requests cancellation: the workflow ends `canceled` through its own cleanup. */
  cancel(workflowId: string): Promise<void>;
  history(workflowId: string): Promise<temporal.api.history.v1.IHistory>;
  /** The live state of an active run. */
  runState(workflowId: string): Promise<RunState>;
  decideApproval(workflowId: string, decision: ApprovalDecision): Promise<void>;
  resolveToolCall(workflowId: string, resolution: ToolResolution): Promise<void>;
  authorizationCompleted(workflowId: string, connection: string): Promise<void>;
  /** Tells the next queued run of a session that its turn has come. */
  sessionTurn(workflowId: string): Promise<void>;
  startWebhookDelivery(taskQueue: string, input: WebhookDeliveryInput): Promise<void>;
}

const engines = new WeakMap<Client, Engine>();

/** The engine on a Temporal client (one per client). */
export function engineOf(client: Client): Engine {
  let e = engines.get(client);
  if (!e) engines.set(client, (e = createEngine(client)));
  return e;
}

function createEngine(client: Client): Engine {
  const handle = (workflowId: string) => client.workflow.getHandle(workflowId);
  const start = async (type: string, options: StartOptions): Promise<void> => {
    await client.workflow.start(type, { ...options, workflowIdReusePolicy: 'REJECT_DUPLICATE' });
  };
  return {
    start,
    describe: (id) => handle(id).describe(),
    cancel: async (id) => void (await handle(id).cancel()),
    history: (id) => handle(id).fetchHistory(),
    runState: (id) => handle(id).query(runStateQuery),
    decideApproval: (id, decision) => handle(id).signal(approvalDecisionSignal, decision),
    resolveToolCall: (id, resolution) => handle(id).signal(toolResolutionSignal, resolution),
    authorizationCompleted: (id, connection) => handle(id).signal(authorizationCompletedSignal, { connection }),
    sessionTurn: (id) => handle(id).signal(sessionTurnSignal),
    startWebhookDelivery: (taskQueue, input) => start(WEBHOOK_DELIVERY_WORKFLOW_TYPE, { workflowId: input.delivery_id, taskQueue, args: [input] }),
  };
}
