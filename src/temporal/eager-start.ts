// Eager workflow start (issue 18). Where the API and a worker share a process (`ap start`), run workflows
// are started through a Client on the worker's NativeConnection with `requestEagerStart`: the SDK reserves
// a workflow task slot of the local worker, and the StartWorkflowExecution response carries the first
// workflow task, which that worker runs without a trip through matching. The server may decline
// (`system.enableEagerWorkflowStart=false`; or no free slot, and then the SDK does not ask): the task then
// goes the normal way and the start counts as not eager. Separate `ap api` processes start the normal way.
import type { Client, WorkflowStartOptions } from '@temporalio/client';

/**
 * A healthy start answers in milliseconds. One still pending after this long asks the API's own client
 * whether Temporal answers at all: the NativeConnection retries an unreachable server ~10 times over
 * ~6 s (its retry policy cannot be set from TypeScript), where the API's client gives up after ~0.6 s
 * (connection.ts), so that an outage is a quick 503.
 */
const PATIENCE_MS = 250;

/** An eager start not yet ended when Temporal was found unreachable: `start` is its outcome, still to come. */
export class StartPending extends Error {
  constructor(readonly start: Promise<unknown>) {
    super('Temporal does not answer; the eager start is still being retried');
    this.name = 'StartPending';
    // Its failure is expected (and looked at by whoever holds this error): never an unhandled rejection.
    start.catch(() => undefined);
  }
}

export interface EagerClient {
  /** A Client on the worker's NativeConnection (the API's data converter and interceptors). */
  client: Client;
  /** False once the worker stops polling (draining, failed): its connection is then closing. */
  usable(): boolean;
}

/** The run workflow starts of this API process, eager where it shares the process with a worker. */
export class RunStarts {
  private readonly started = { eager: 0, normal: 0 };

  constructor(private readonly eager?: EagerClient) {}

  /** Starts a workflow through `client`, or eagerly when a usable worker shares the process. */
  async start(client: Client, type: string, options: WorkflowStartOptions): Promise<void> {
    const eager = this.eager?.usable() ? this.eager.client : undefined;
    const handle = eager ? await this.startEagerly(client, eager, type, options) : await client.workflow.start(type, options);
    this.started[handle.eagerlyStarted ? 'eager' : 'normal'] += 1;
  }

  private async startEagerly(client: Client, eager: Client, type: string, options: WorkflowStartOptions) {
    const start = eager.workflow.start(type, { ...options, requestEagerStart: true });
    let timer: NodeJS.Timeout | undefined;
    const patience = new Promise<'slow'>((resolve) => {
      timer = setTimeout(() => resolve('slow'), PATIENCE_MS);
    });
    try {
      if ((await Promise.race([start, patience])) === 'slow') {
        const reachable = await client.workflowService.getSystemInfo({}).then(() => true, () => false);
        if (!reachable) throw new StartPending(start);
      }
    } finally {
      clearTimeout(timer);
    }
    return start;
  }

  /** This process's starts so far, eager or not (the API's /metrics: ap_run_workflow_starts_total). */
  counts(): { eager: number; normal: number } {
    return { ...this.started };
  }
}
