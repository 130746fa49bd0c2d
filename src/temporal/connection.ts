// Temporal client connection and the worker of the run workflow.
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode, type LogLevel, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { dataConverter } from './codec';
import { createActivities, type ActivityDeps } from '../../activities';

export async function connectClient(address: string, namespace: string, masterKeys: Buffer[]): Promise<Client> {
  const connection = await Connection.connect({ address });
  return new Client({ connection, namespace, dataConverter: dataConverter(masterKeys) });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Bundles workflows/ once per process (webpack + swc take seconds). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: path.resolve(__dirname, '../../workflows/index.ts'),
    failureConverterPath: path.resolve(__dirname, 'failure-converter.ts'),
    logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
  });
  return bundle;
}

export interface RunningWorker {
  worker: Worker;
  done: Promise<void>;
  stop(): Promise<void>;
}

let runtimeInstalled = false;

/** Routes the SDK's own log lines (warnings and up) into our pino logger; once per process. */
function installRuntime(log: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const levels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => log[levels[entry.level]]({ ...entry.meta, component: 'temporal-sdk' }, entry.message)),
  });
}

export async function startWorker(config: Config, address: string, deps: ActivityDeps, masterKeys: Buffer[]): Promise<RunningWorker> {
  installRuntime(deps.log);
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowBundle: await workflowBundle(),
    dataConverter: dataConverter(masterKeys),
    activities: createActivities(deps),
    // Cancellation reaches an activity on its next heartbeat: keep that round trip short.
    maxHeartbeatThrottleInterval: '500ms',
    defaultHeartbeatThrottleInterval: '500ms',
    shutdownGraceTime: '10s',
  });
  const done = worker.run().finally(() => connection.close());
  return {
    worker,
    done,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
