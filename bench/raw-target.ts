// A raw Temporal worker and two clients on one server, for the baselines: the same work a run does,
// without the platform. `eager` shares the worker's NativeConnection, which eager workflow start needs.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { findTemporalCli, startDevServer, type DevServer, type DevServerOptions } from '../src/temporal/dev-server';
import { rawActivities } from './raw-activities';

export interface RawTarget {
  /** A plain gRPC client, as `ap api` has. */
  client: Client;
  /** A client on the raw worker's NativeConnection: `requestEagerStart: true` can be honoured. */
  eager: Client;
  taskQueue: string;
  stop(): Promise<void>;
}

let runtimeInstalled = false;

export async function startRawTarget(address: string): Promise<RawTarget> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const taskQueue = `raw-bench-${crypto.randomUUID()}`;
  const native = await NativeConnection.connect({ address });
  const worker = await Worker.create({ connection: native, taskQueue, workflowsPath: require.resolve('./raw-workflows'), activities: rawActivities });
  const running = worker.run();
  const connection = await Connection.connect({ address });
  return {
    client: new Client({ connection, namespace: 'default' }),
    eager: new Client({ connection: native, namespace: 'default' }),
    taskQueue,
    async stop() {
      worker.shutdown();
      await running;
      await native.close();
      await connection.close();
    },
  };
}

/** A dev server (file SQLite in `dir`) with `tuning`, and a raw worker on it. */
export async function startRawServer(dir: string, name: string, tuning: DevServerOptions['tuning']): Promise<{ server: DevServer; raw: RawTarget; stop(): Promise<void> }> {
  fs.mkdirSync(dir, { recursive: true });
  const binary = await findTemporalCli(process.env.AP_TEMPORAL_CLI, () => undefined);
  const server = await startDevServer({ binary, namespace: 'default', tuning, dbFile: path.join(dir, `${name}.db`), logFile: path.join(dir, `${name}.log`) });
  try {
    const raw = await startRawTarget(server.address);
    return {
      server,
      raw,
      async stop() {
        await raw.stop();
        await server.stop();
      },
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}
