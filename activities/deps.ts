// What activities need; passed to createActivities by the worker (and by tests building a real worker).
import type { Logger } from 'pino';
import type { Client } from '@temporalio/client';
import type { Config } from '../src/config';
import type { EvalRow } from '../src/db/evals';
import type { Db } from '../src/db/pool';
import type { RunCreate } from '../src/domain/run';
import type { SecretBox } from '../src/security/secrets';

/**
 * Creates an eval case's run, or finds the one an earlier attempt created (src/services/evals.ts
 * startCaseRun): creating a run is the services' work, so the worker's composition passes it in and
 * activities never import src/services. Throws PlatformError when the run is refused.
 */
export type StartCaseRun = (
  deps: Pick<ActivityDeps, 'db' | 'config' | 'temporal' | 'log'>,
  e: EvalRow,
  caseId: string,
  body: RunCreate,
  requestId: string,
) => Promise<{ id: string }>;

export interface ActivityDeps {
  db: Db;
  config: Config;
  secrets: SecretBox;
  log: Logger;
  temporal: Client;
  startCaseRun: StartCaseRun;
}
