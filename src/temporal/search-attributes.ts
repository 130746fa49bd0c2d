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
  } catch (err) {
    log.error({ err, namespace }, `Temporal search attributes ${NAMES.join(', ')} are not registered and could not be: run \`${registerCommand(namespace)}\``);
  }
}
