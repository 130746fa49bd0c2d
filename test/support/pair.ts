// An `ap api` and an `ap worker` of their own, on the test stack's database and Temporal server and a
// task queue of their own, for tests that kill, restart or reconfigure processes.
import crypto from 'node:crypto';
import path from 'node:path';
import { stablePort } from '../../src/temporal/dev-server';
import { env } from './api';
import { spawnAp, type ApProcess } from './processes';

export interface Pair {
  /** The environment both processes got (without the API's port), to start replacements with. */
  base: Record<string, string>;
  port: number;
  api: ApProcess;
  worker: ApProcess;
}

/** The caller stops both processes (they are returned, not tracked here). */
export async function startPair(name: string, extra: { both?: Record<string, string>; api?: Record<string, string>; worker?: Record<string, string> } = {}): Promise<Pair> {
  const e = env();
  const port = await stablePort();
  const base = {
    DATABASE_URL: e.databaseUrl,
    TEMPORAL_ADDRESS: e.temporalAddress,
    TEMPORAL_TASK_QUEUE: `ap-${name}-${crypto.randomUUID()}`,
    AP_MASTER_KEY: e.masterKey,
    AP_ALLOW_PRIVATE_NETWORK: 'true',
    LOG_LEVEL: 'debug',
    ...extra.both,
  };
  const api = spawnAp(['api'], { ...base, ...extra.api, AP_PORT: String(port) }, path.join(e.logDir, `${name}-api.log`));
  const worker = spawnAp(['worker'], { ...base, ...extra.worker }, path.join(e.logDir, `${name}-worker1.log`));
  try {
    await Promise.all([api.ready, worker.ready]);
  } catch (err) {
    await Promise.all([api.kill('SIGKILL'), worker.kill('SIGKILL')]);
    throw err;
  }
  return { base, port, api, worker };
}

/**
 * One more `ap api` on the shared test stack (database, Temporal, task queue): another process behind the
 * load balancer. `privateNetwork: false` leaves AP_ALLOW_PRIVATE_NETWORK unset (the guard as in production).
 */
export async function anotherApi(name: string, opts: { privateNetwork?: boolean } = {}): Promise<{ proc: ApProcess; port: number }> {
  const e = env();
  const port = await stablePort();
  const proc = spawnAp(['api'], {
    DATABASE_URL: e.databaseUrl, TEMPORAL_ADDRESS: e.temporalAddress, TEMPORAL_TASK_QUEUE: e.taskQueue, AP_MASTER_KEY: e.masterKey, AP_PORT: String(port), LOG_LEVEL: 'debug',
    ...(opts.privateNetwork === false ? {} : { AP_ALLOW_PRIVATE_NETWORK: 'true' }),
  }, path.join(e.logDir, `${name}.log`));
  await proc.ready;
  return { proc, port };
}
