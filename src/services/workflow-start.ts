// Where every workflow the API starts is started (runs, action invocations, evals): eagerly where the
// API shares a process with a worker, and the stored row removed again when no workflow runs it.
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { StartPending, type RunStarts } from '../temporal/eager-start';
import { temporalCall, temporalUnavailable } from './temporal-errors';
import { engineOf } from '../temporal/engine';

/**
 * How a start reaches Temporal: a client, or the services' deps, whose `runStarts` (set by the API under
 * `ap start`) start eagerly where they can, and else through `temporal`.
 */
export type StartVia = Client | { temporal: Client; runStarts?: RunStarts | undefined };

/**
 * Starts the workflow of a row just stored. Already started is success (an idempotent retry). On any
 * other failure the row is removed (`discard`) only when no workflow runs it, since a start that timed
 * out may still have worked; then the error is thrown.
 */
export async function startWorkflowFor(
  via: StartVia,
  options: {
    type: string;
    workflowId: string;
    taskQueue: string;
    args: unknown[];
    searchAttributes?: SearchAttributePair[];
    /**
     * An eager start that lands after the API answered 503: kept when a retry will find it (the request had
     * an Idempotency-Key), else canceled, so that the client's retry does not leave a twin running.
     */
    keepLateStart?: boolean;
  },
  discard: () => Promise<unknown>,
): Promise<void> {
  const { client, starts } = 'workflow' in via ? { client: via, starts: undefined } : { client: via.temporal, starts: via.runStarts };
  const startOptions = {
    workflowId: options.workflowId,
    taskQueue: options.taskQueue,
    workflowIdReusePolicy: 'REJECT_DUPLICATE' as const,
    args: options.args,
    ...(options.searchAttributes ? { typedSearchAttributes: options.searchAttributes } : {}),
  };
  /** True when a workflow runs the row after all; else the row is removed. */
  const startedAfterAll = async (): Promise<boolean> => {
    const started = await engineOf(client).describe(options.workflowId).then(() => true, () => false);
    if (!started) await discard().catch(() => undefined);
    return started;
  };
  try {
    await temporalCall(async () => {
      if (starts) await starts.start(client, options.type, startOptions);
      else await engineOf(client).start(options.type, startOptions);
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return;
    if (err instanceof StartPending) {
      // Temporal is down and the eager start is still being retried: 503 now; the row goes once that start
      // has failed; if it lands after all (Temporal back within seconds), the run is canceled (keepLateStart).
      void err.start.then(
        async () => {
          if (options.keepLateStart) return;
          // Canceled, not terminated: the run ends `canceled` through its own cleanup (events, session, counter).
          await engineOf(client).cancel(options.workflowId).catch(() => undefined);
        },
        (late: unknown) => (late instanceof WorkflowExecutionAlreadyStartedError ? undefined : startedAfterAll()),
      );
      throw temporalUnavailable();
    }
    if (await startedAfterAll()) return;
    throw err;
  }
}
