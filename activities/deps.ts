// What activities need; passed to createActivities by the worker (and by tests building a real worker).
import type { Logger } from 'pino';
import type { Client } from '@temporalio/client';
import type { Config } from '../src/config';
import type { Db } from '../src/db/pool';
import type { SecretBox } from '../src/security/secrets';

export interface ActivityDeps {
  db: Db;
  config: Config;
  secrets: SecretBox;
  log: Logger;
  temporal: Client;
}
