// Temporal client connection and the worker of the run workflow.
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor, type ClientInterceptors, type ConnectionLike, type TLSConfig } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { Config, TemporalSecurity } from '../config';
import { dataConverter } from './codec';
import { PinoTemporalLogger } from './logging';
import type { Tracing } from './tracing';
import { createActivities, type ActivityDeps } from '../../activities';

/**
 * The SDK retries an unavailable server 10 times over ~17 s, and a run creation makes two calls (start,
 * then describe): during a Temporal outage every API request hung for 20-40 s before its 503. Four
 * attempts (~0.6 s) still ride out a blip, and clients get 503 temporal_unavailable with Retry-After.
 */
const API_CALL_RETRY = defaultGrpcRetryOptions({ maxAttempts: 4 });

/** TLS and API key for the client and the worker connection alike (TEMPORAL_TLS_*, TEMPORAL_API_KEY). */
export function securityOptions(security: TemporalSecurity | undefined): { tls?: TLSConfig; apiKey?: string } {
  if (!security?.tls) return {};
  const tls: TLSConfig = {
    ...(security.certPath && security.keyPath ? { clientCertPair: { crt: fs.readFileSync(security.certPath), key: fs.readFileSync(security.keyPath) } } : {}),
    ...(security.caPath ? { serverRootCACertificate: fs.readFileSync(security.caPath) } : {}),
    ...(security.serverName ? { serverNameOverride: security.serverName } : {}),
  };
  return { tls, ...(security.apiKey ? { apiKey: security.apiKey } : {}) };
}

/** `interceptors` only when tracing is on (src/temporal/tracing.ts); none by default. */
export async function connectClient(address: string, namespace: string, masterKeys: Buffer[], interceptors?: ClientInterceptors, security?: TemporalSecurity): Promise<Client> {
  const connection = await Connection.connect({ address, interceptors: [makeGrpcRetryInterceptor(API_CALL_RETRY)], ...securityOptions(security) });
  return clientOn(connection, namespace, masterKeys, interceptors);
}

/**
 * A Client on a given connection with the API's data converter (the encryption codec) and interceptors:
 * the API's own (connectClient), or one on a worker's NativeConnection for eager starts (eager-start.ts).
 */
export function clientOn(connection: ConnectionLike, namespace: string, masterKeys: Buffer[], interceptors?: ClientInterceptors): Client {
  return new Client({ connection, namespace, dataConverter: dataConverter(masterKeys), ...(interceptors ? { interceptors } : {}) });
}

const bundles = new Map<string, Promise<WorkflowBundleWithSourceMap>>();

/**
 * Bundles workflows/ once per process (webpack + swc take seconds). Workflow interceptor modules (the
 * tracing ones) must be bundled in: a worker ignores them beside a prebuilt bundle.
 */
export function workflowBundle(workflowInterceptorModules: string[] = [], workflowsPath = path.resolve(__dirname, '../../workflows/index.ts')): Promise<WorkflowBundleWithSourceMap> {
  const key = [workflowsPath, ...workflowInterceptorModules].join('\n');
  let bundle = bundles.get(key);
  if (!bundle) {
    bundle = bundleWorkflowCode({
      workflowsPath,
      failureConverterPath: path.resolve(__dirname, 'failure-converter.ts'),
      ...(workflowInterceptorModules.length ? { workflowInterceptorModules } : {}),
      logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    bundles.set(key, bundle);
  }
  return bundle;
}

export interface RunningWorker {
  worker: Worker;
  /** The worker's own connection, closed when it stops; a Client on it can start workflows eagerly. */
  connection: NativeConnection;
  done: Promise<void>;
  stop(): Promise<void>;
}

let runtimeInstalled = false;

/**
 * Routes the SDK's log lines into our pino logger, once per process: the workflow logger's lines
 * (`log` from @temporalio/workflow, through the SDK's logger sink) at our level, the SDK's own from WARN.
 */
function installRuntime(log: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new PinoTemporalLogger(log) });
}

/** `tracing` adds the OpenTelemetry interceptors, sink and workflow modules; without it there are none. */
export async function startWorker(config: Config, address: string, deps: ActivityDeps, masterKeys: Buffer[], tracing?: Tracing): Promise<RunningWorker> {
  installRuntime(deps.log);
  const connection = await NativeConnection.connect({ address, ...securityOptions(config.temporal.security) });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowBundle: await workflowBundle(tracing?.workflowModules, config.temporal.workflowsPath),
    // Refused payloads are someone talking to Temporal past the API: on the record, never executed.
    dataConverter: dataConverter(masterKeys, { onRejected: (encoding) => deps.log.warn({ encoding }, 'refused an unencrypted Temporal payload') }),
    activities: createActivities(deps),
    ...(tracing ? { interceptors: tracing.worker, sinks: tracing.sinks } : {}),
    // Cancellation reaches an activity on its next heartbeat: keep that round trip short.
    maxHeartbeatThrottleInterval: '500ms',
    defaultHeartbeatThrottleInterval: '500ms',
    shutdownGraceTime: '10s',
    maxCachedWorkflows: config.temporal.maxCachedWorkflows,
  });
  const done = worker.run().finally(() => connection.close());
  return {
    worker,
    connection,
    done,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
