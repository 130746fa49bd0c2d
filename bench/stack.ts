// The benchmark's stack: PostgreSQL (DATABASE_URL or embedded), Temporal (TEMPORAL_ADDRESS or the tuned
// dev server), `ap api` and `ap worker` as separate processes as in production, a raw Temporal worker in
// this process on the same server (tuned raw), and a second dev server started as the CLI starts it,
// with its own raw worker (default-config raw).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedDb } from '../src/db/embedded';
import { findTemporalCli, freePort, startDevServer, type DevServer } from '../src/temporal/dev-server';
import { spawnAp, type ApProcess } from '../test/support/processes';
import { freshDatabase } from '../test/support/fresh-database';
import { startRawServer, startRawTarget, type RawTarget } from './raw-target';
import { rssMiB } from './stats';

export interface Stack {
  runDir: string;
  apiUrl: string;
  adminKey: string;
  api: ApProcess;
  worker: ApProcess;
  temporalPid: number | undefined;
  temporalDefaultsPid: number | undefined;
  /** Raw baselines on the platform's (tuned) server. */
  raw: RawTarget;
  /** Raw baselines on a dev server with the CLI's defaults. */
  rawDefaults: RawTarget;
  /** Resident memory of each process, in MiB (`bench` = this process, which hosts the raw workers). */
  rss(): Record<'worker' | 'api' | 'temporal_tuned' | 'temporal_defaults' | 'bench', number>;
  stop(): Promise<void>;
}

const say = (line: string) => process.stderr.write(`[bench] ${line}\n`);

export async function startStack(runDir: string): Promise<Stack> {
  fs.mkdirSync(runDir, { recursive: true });
  fs.chmodSync(runDir, 0o755);
  const stoppers: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stoppers) await s().catch((err: Error) => say(`stop: ${err.message}`));
  };
  try {
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
      temporal = await startDevServer({ binary, namespace: 'default', tuning: 'tuned', dbFile: path.join(runDir, 'temporal.db'), logFile: path.join(runDir, 'temporal.log') });
      address = temporal.address;
      stoppers.unshift(() => temporal!.stop());
    }
    const defaults = await startRawServer(runDir, 'temporal-defaults', 'defaults');
    stoppers.unshift(() => defaults.stop());
    say(`PostgreSQL ${embedded ? 'embedded' : 'from DATABASE_URL'}, Temporal at ${address}${temporal ? ' (tuned)' : ''}, default-config Temporal at ${defaults.server.address}`);

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
    // e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`: a CPU profile of the API and the worker (docs/performance.md).
    const nodeArgs = process.env.BENCH_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [];
    const worker = spawnAp(['worker'], env, path.join(runDir, 'worker.log'), nodeArgs);
    const api = spawnAp(['api'], { ...env, AP_PORT: String(port) }, path.join(runDir, 'api.log'), nodeArgs);
    stoppers.unshift(() => api.kill('SIGTERM'), () => worker.kill('SIGTERM'));
    await Promise.all([worker.ready, api.ready]);

    const raw = await startRawTarget(address);
    stoppers.unshift(() => raw.stop());
    say(`api on ${port}, worker and both raw baseline workers ready`);

    const temporalPid = temporal?.process.pid;
    const temporalDefaultsPid = defaults.server.process.pid;
    return {
      runDir,
      apiUrl: `http://127.0.0.1:${port}`,
      adminKey,
      api,
      worker,
      temporalPid,
      temporalDefaultsPid,
      raw,
      rawDefaults: defaults.raw,
      rss: () => ({
        worker: rssMiB(worker.child.pid),
        api: rssMiB(api.child.pid),
        temporal_tuned: rssMiB(temporalPid),
        temporal_defaults: rssMiB(temporalDefaultsPid),
        bench: Math.round(process.memoryUsage().rss / 2 ** 20),
      }),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
