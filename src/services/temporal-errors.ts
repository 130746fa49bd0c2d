// Maps "Temporal is not reachable" to 503 temporal_unavailable with Retry-After (API.md 1.2).
import { ServiceError, WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { ApiError } from '../domain/errors';

const UNAVAILABLE = /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED|failed to connect|Connection dropped|transport/i;

export async function temporalCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const text = `${(err as Error)?.message ?? ''} ${String((err as { cause?: unknown })?.cause ?? '')}`;
    if (err instanceof ServiceError || UNAVAILABLE.test(text)) {
      if (UNAVAILABLE.test(text) || (err as { code?: number }).code === 14) {
        throw new ApiError(503, 'temporal_unavailable', 'The workflow engine is not reachable; retry shortly', undefined, { 'Retry-After': '5' });
      }
    }
    throw err;
  }
}

/**
 * Starts the workflow of a row just stored. Already started is success (an idempotent retry). On any
 * other failure the row is removed (`discard`) only when no workflow runs it, since a start that timed
 * out may still have worked; then the error is thrown.
 */
export async function startWorkflowFor(
  client: Client,
  options: { type: string; workflowId: string; taskQueue: string; args: unknown[]; searchAttributes?: SearchAttributePair[] },
  discard: () => Promise<unknown>,
): Promise<void> {
  try {
    await temporalCall(() =>
      client.workflow.start(options.type, {
        workflowId: options.workflowId,
        taskQueue: options.taskQueue,
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        args: options.args,
        ...(options.searchAttributes ? { typedSearchAttributes: options.searchAttributes } : {}),
      }),
    );
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return;
    const started = await client.workflow.getHandle(options.workflowId).describe().then(() => true, () => false);
    if (started) return;
    await discard().catch(() => undefined);
    throw err;
  }
}
