// The run search attributes (workflows/definitions.ts) on the Temporal namespace: the embedded dev
// server gets them on its command line; against any other server every `ap` process registers the
// missing ones at start through the operator service (several processes at once are fine).
import type { ConnectionLike } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Logger } from 'pino';
import { SEARCH_ATTRIBUTES } from '../../workflows/definitions';

const NAMES = Object.values(SEARCH_ATTRIBUTES).map((k) => k.name);
const KEYWORD = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;

/** `temporal server start-dev` flags that register them. */
export const devServerSearchAttributeArgs = (): string[] => NAMES.flatMap((n) => ['--search-attribute', `${n}=Keyword`]);

/** What an operator runs when the processes may not register them (e.g. without operator rights). */
export const registerCommand = (namespace: string): string =>
  `temporal operator search-attribute create --namespace ${namespace} ${NAMES.map((n) => `--name ${n}`).join(' ')} --type Keyword`;

async function missing(connection: ConnectionLike, namespace: string): Promise<string[]> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const wrong = NAMES.filter((n) => customAttributes[n] !== undefined && customAttributes[n] !== KEYWORD);
  if (wrong.length) throw new Error(`search attribute(s) ${wrong.join(', ')} exist with a type other than Keyword`);
  return NAMES.filter((n) => customAttributes[n] === undefined);
}

/**
 * A server resolves search attributes through its namespace cache, refreshed every few seconds: right
 * after they were added, starting a workflow that sets them fails with INVALID_ARGUMENT ("no mapping
 * defined"), which made the first runs on a new production cluster answer 500. A visibility query
 * that names them goes through the same mapping, so the process waits (up to 60 s) until it passes.
 */
async function untilUsable(connection: ConnectionLike, namespace: string): Promise<void> {
  const query = NAMES.map((n) => `${n} = 'probe'`).join(' AND ');
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await connection.workflowService.countWorkflowExecutions({ namespace, query });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/**
 * Registers whatever is missing. A failure is logged with the command to run, not thrown: reads keep
 * working, and starting a run fails with Temporal's own message until an operator registers them.
 */
export async function ensureSearchAttributes(connection: ConnectionLike, namespace: string, log: Logger): Promise<void> {
  try {
    const todo = await missing(connection, namespace);
    if (!todo.length) return;
    try {
      await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(todo.map((n) => [n, KEYWORD])) });
    } catch (err) {
      // Another process may have registered them meanwhile (AlreadyExists or a conflict): look again.
      if ((await missing(connection, namespace)).length) throw err;
    }
    log.info({ search_attributes: todo, namespace }, 'registered Temporal search attributes');
    await untilUsable(connection, namespace);
  } catch (err) {
    log.error({ err, namespace }, `Temporal search attributes ${NAMES.join(', ')} are not registered and could not be: run \`${registerCommand(namespace)}\``);
  }
}
