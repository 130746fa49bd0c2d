// What the core needs: a part of both ServiceDeps (the API) and ActivityDeps (the worker), each passes its own.
import type { Logger } from 'pino';
import type { Config } from '../config';
import type { Db } from '../db/pool';
import type { SecretBox } from '../security/secrets';

export interface CoreDeps {
  db: Db;
  config: Config;
  secrets: SecretBox;
  log: Logger;
}
