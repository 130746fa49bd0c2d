// The benchmark's stack: PostgreSQL (DATABASE_URL or embedded), Temporal (TEMPORAL_ADDRESS or the dev
// server), `ap api` and `ap worker` as separate processes as in production, and a raw Temporal worker
// in this process for the baselines, all on the same Temporal server.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { startEmbeddedPostgres, type EmbeddedDb } from '../src/db/embedded';
import { findTemporalCli, freePort, startDevServer, type DevServer } from '../src/temporal/dev-server';
import { spawnAp, type ApProcess } from '../test/support/processes';
import { freshDatabase } from '../test/support/fresh-database';
import { rawActivities } from './raw-activities';

export interface Stack {
  apiUrl: string;
  adminKey: string;
  api: ApProcess;
  worker: ApProcess;
  temporalPid: number | undefined;
  raw: { client: Client; taskQueue: string };
  stop(): Promise<void>;
}

const say = (line: string) => process.stderr.write(`[bench] ${line}\n`);

export async function startStack(runDir: string): Promise<Stack> {
  fs.mkdirSync(runDir, { recursive: true });
  fs.chmodSync(runDir, 0o755);
  const stoppers: (() => Promise<void>)[] = [];
  let serverUrl = process.env.DATABASE_URL;
  let embedded: EmbeddedDb | undefined;
  if (!serverUrl) {
    embedded = await startEmbeddedPostgres(path.join(runDir, 'pg'), say);
    serverUrl = embedded.url;
    stoppers.push(() => embedded!.stop());
  }
  const { databaseUrl, adminKey } = await freshDatabase(serverUrl, 'ap_bench');

  let address = process.env.TEMPORAL_ADDRESS;
  let temporal: DevServer | undefined;
  if (!address) {
    const binary = await findTemporalCli(process.env.AP_TEMPORAL_CLI, say);
    temporal = await startDevServer({ binary, namespace: 'default', dbFile: path.join(runDir, 'temporal.db'), logFile: path.join(runDir, 'temporal.log') });
    address = temporal.address;
    stoppers.unshift(() => temporal!.stop());
  }
  say(`PostgreSQL ${embedded ? 'embedded' : 'from DATABASE_URL'}, Temporal at ${address}`);

  const port = await freePort();
  const env = {
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TASK_QUEUE: `ap-bench-${crypto.randomUUID()}`,
    AP_MASTER_KEY: crypto.randomBytes(32).toString('base64'),
    AP_ALLOW_PRIVATE_NETWORK: 'true',
    AP_DATA_DIR: path.join(runDir, 'data'),
    AP_RATE_LIMIT_PER_MINUTE: '1000000',
    // The bench measures the platform, not its limits: 1,000 SSE clients and parallel waits on one key.
    AP_WORKSPACE_RATE_LIMIT_PER_MINUTE: '10000000',
    AP_MAX_LONG_REQUESTS_PER_KEY: '100000',
    AP_MAX_ACTIVE_RUNS: '1000000',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    ...(process.env.AP_WORKER_MAX_CACHED_WORKFLOWS ? { AP_WORKER_MAX_CACHED_WORKFLOWS: process.env.AP_WORKER_MAX_CACHED_WORKFLOWS } : {}),
  };
  const worker = spawnAp(['worker'], env, path.join(runDir, 'worker.log'));
  const api = spawnAp(['api'], { ...env, AP_PORT: String(port) }, path.join(runDir, 'api.log'));
  await Promise.all([worker.ready, api.ready]);
  stoppers.unshift(() => api.kill('SIGTERM'), () => worker.kill('SIGTERM'));

  const taskQueue = `raw-bench-${crypto.randomUUID()}`;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const native = await NativeConnection.connect({ address });
  const rawWorker = await Worker.create({ connection: native, taskQueue, workflowsPath: require.resolve('./raw-workflows'), activities: rawActivities });
  const rawRunning = rawWorker.run();
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  stoppers.unshift(async () => {
    rawWorker.shutdown();
    await rawRunning;
    await native.close();
    await connection.close();
  });
  say(`api on ${port}, worker and raw baseline worker ready`);

  return {
    apiUrl: `http://127.0.0.1:${port}`,
    adminKey,
    api,
    worker,
    temporalPid: temporal?.process.pid,
    raw: { client, taskQueue },
    async stop() {
      for (const s of stoppers) await s().catch((err: Error) => say(`stop: ${err.message}`));
    },
  };
}
