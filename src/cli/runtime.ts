// Assembles the running platform from the config: PostgreSQL (given or embedded), Temporal (given or
// the embedded dev server), migrations, the worker and the API, and stops them again in order.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import type { Config } from '../config';
import { createApp } from '../api/app';
import { endAllStreams } from '../api/sse';
import { startEmbeddedPostgres, type EmbeddedDb } from '../db/embedded';
import { migrate } from '../db/migrate';
import { createPool, type Db } from '../db/pool';
import { createSecretBox, type SecretBox } from '../security/secrets';
import { createEventBus, type EventBus } from '../services/event-bus';
import { bootstrap } from '../services/workspaces';
import { purgeEndedRuns } from '../services/retention';
import { startCaseRun } from '../services/evals';
import { clientOn, connectClient, startWorker, type RunningWorker } from '../temporal/connection';
import { RunStarts } from '../temporal/eager-start';
import { EncryptionCodec } from '../temporal/codec';
import { createProgress } from '../process/progress';
import { findTemporalCli, startDevServer, stopLeftoverDevServer, type DevServer } from '../temporal/dev-server';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { startTracing, type Tracing } from '../temporal/tracing';
import type { Client } from '@temporalio/client';

export const say = (line: string): void => void process.stdout.write(`${line}\n`);

/**
 * Logs go to stderr; stdout is kept for the lines a person reads (URLs, the admin key, Ready). On a
 * terminal each entry is one readable line (pino-pretty), elsewhere a JSON object per line, unless
 * LOG_FORMAT says which. Redaction happens before either.
 */
export function createLogger(config: Pick<Config, 'logLevel' | 'logFormat'>, out: { isTTY?: boolean; fd?: number; stream?: NodeJS.WritableStream } = { isTTY: process.stderr.isTTY }): Logger {
  const options = { level: config.logLevel, base: { pid: process.pid }, redact: ['req.headers.authorization', 'req.headers["x-api-key"]'] };
  const pretty = config.logFormat ? config.logFormat === 'pretty' : out.isTTY === true;
  const destination = out.stream ?? out.fd ?? 2;
  if (pretty) return pino(options, pinoPretty({ destination, sync: true, colorize: out.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
  return pino(options, typeof destination === 'number' ? pino.destination(destination) : destination);
}

/** The current master key first, then the previous ones (they still decrypt). */
export function masterKeys(config: Config): Buffer[] {
  return [loadMasterKey(config), ...config.previousMasterKeys.map((k) => Buffer.from(k, 'base64'))];
}

export function loadMasterKey(config: Config): Buffer {
  if (config.masterKey) return Buffer.from(config.masterKey, 'base64');
  const file = path.join(config.dataDir, 'master.key');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(config.dataDir, { recursive: true });
    fs.writeFileSync(file, crypto.randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
  }
  const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new Error(`${file} does not hold a base64 32-byte key`);
  return key;
}

export interface Stack {
  config: Config;
  log: Logger;
  db: Db;
  databaseUrl: string;
  secrets: SecretBox;
  temporal: Client;
  temporalAddress: string;
  temporalUi: string | undefined;
  /** Set when OTEL_EXPORTER_OTLP_ENDPOINT is. */
  tracing: Tracing | undefined;
  stoppers: (() => Promise<void>)[];
}

/** PostgreSQL: DATABASE_URL, or (when allowed) the embedded server in AP_DATA_DIR/pg. */
export async function openDatabase(config: Config, embedded: boolean, stoppers: (() => Promise<void>)[]): Promise<{ db: Db; databaseUrl: string }> {
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    if (!embedded) throw new Error('DATABASE_URL is required for this command (only `ap start` embeds PostgreSQL)');
    const pg: EmbeddedDb = await startEmbeddedPostgres(path.join(config.dataDir, 'pg'), say);
    stoppers.unshift(() => pg.stop());
    databaseUrl = pg.url;
  }
  const db = createPool(databaseUrl, config.dbPoolSize);
  stoppers.unshift(() => db.end());
  return { db, databaseUrl };
}

/** Brings up storage and Temporal (embedded where not configured) and connects to both. */
export async function openStack(config: Config, opts: { embedded: boolean; migrate: boolean }): Promise<Stack> {
  const log = createLogger(config);
  const stoppers: (() => Promise<void>)[] = [];
  try {
    return await assemble(config, opts, log, stoppers);
  } catch (err) {
    // A start that fails half-way stops what it started (an embedded PostgreSQL, say), then says why.
    await stopAll(stoppers, log);
    throw err;
  }
}

/**
 * `ap start` owns its data directory while it runs (AP_DATA_DIR/ap.pid): servers found there after it
 * died are leftovers to stop, but those of a start that is still running are not.
 */
function claimDataDir(dataDir: string, stoppers: (() => Promise<void>)[]): void {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'ap.pid');
  const other = Number(fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : NaN);
  if (Number.isInteger(other) && other > 1 && other !== process.pid) {
    const argv = (() => {
      try {
        return fs.readFileSync(`/proc/${other}/cmdline`, 'utf8').split('\0');
      } catch {
        return [];
      }
    })();
    const mine = fs.readFileSync('/proc/self/cmdline', 'utf8').split('\0');
    if (argv.length > 1 && path.basename(argv[1]!) === path.basename(mine[1]!) && argv.includes('start')) {
      throw new Error(`Another \`ap start\` (pid ${other}) is running on ${dataDir}; stop it first`);
    }
  }
  fs.writeFileSync(file, String(process.pid));
  stoppers.push(async () => {
    // Last: only once everything else stopped does the directory stop being ours.
    if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.rmSync(file, { force: true });
  });
}

async function assemble(config: Config, opts: { embedded: boolean; migrate: boolean }, log: Logger, stoppers: (() => Promise<void>)[]): Promise<Stack> {
  if (opts.embedded && (!config.databaseUrl || !config.temporal.address) && process.platform === 'linux') claimDataDir(config.dataDir, stoppers);
  const { db, databaseUrl } = await openDatabase(config, opts.embedded, stoppers);
  const keys = masterKeys(config);
  const secrets = createSecretBox(keys);
  if (opts.migrate) {
    const applied = await migrate(db, secrets);
    if (applied.length) say(`Database: applied ${applied.length} migration(s)`);
  }
  let temporalAddress = config.temporal.address;
  let temporalUi: string | undefined;
  if (!temporalAddress) {
    if (!opts.embedded) throw new Error('TEMPORAL_ADDRESS is required for this command (only `ap start` embeds Temporal)');
    const binary = await findTemporalCli(config.temporal.cliPath, say, createProgress(process.stdout));
    fs.mkdirSync(config.dataDir, { recursive: true });
    const dbFile = path.join(config.dataDir, 'temporal.db');
    await stopLeftoverDevServer(dbFile, say);
    const server: DevServer = await startDevServer({
      binary,
      dbFile,
      watchdog: true,
      namespace: config.temporal.namespace,
      logFile: path.join(config.dataDir, 'temporal.log'),
    });
    say(`Temporal: dev server on ${server.address}`);
    stoppers.unshift(() => server.stop());
    temporalAddress = server.address;
    temporalUi = server.uiUrl;
  }
  const tracing = startTracing(config);
  // Flushed last, after the worker and the API have ended their spans.
  if (tracing) stoppers.unshift(() => tracing.shutdown());
  const temporal = await connectClient(temporalAddress, config.temporal.namespace, keys, tracing?.client, config.temporal.security);
  stoppers.unshift(() => temporal.connection.close());
  await ensureSearchAttributes(temporal.connection, config.temporal.namespace, log);
  return { config, log, db, databaseUrl, secrets, temporal, temporalAddress, temporalUi, tracing, stoppers };
}

/** A process part that fails to start stops the whole stack first (nothing is left running), then throws. */
async function orStop<T>(stack: Stack, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    await stopStack(stack);
    throw err;
  }
}

export const runWorkerIn = (stack: Stack): Promise<RunningWorker> => orStop(stack, () => startWorkerIn(stack));
/** `worker`: the worker of this process (`ap start`), whose connection then starts run workflows eagerly. */
export const runApiIn = (stack: Stack, worker?: RunningWorker): Promise<{ server: http.Server; bus: EventBus; port: number }> => orStop(stack, () => startApiIn(stack, worker));

async function startWorkerIn(stack: Stack): Promise<RunningWorker> {
  const w = await startWorker(stack.config, stack.temporalAddress, {
    db: stack.db,
    config: stack.config,
    secrets: stack.secrets,
    log: stack.log.child({ component: 'worker' }),
    temporal: stack.temporal,
    startCaseRun,
  }, masterKeys(stack.config), stack.tracing);
  stack.stoppers.unshift(() => w.stop());
  const healthFile = stack.config.temporal.healthFile;
  if (healthFile) {
    // Written only while the worker polls; a failed or draining worker lets it go stale.
    const beat = (): void => {
      if (w.worker.getState() === 'RUNNING') fs.writeFileSync(healthFile, `${new Date().toISOString()}\n`);
    };
    beat();
    const timer = setInterval(beat, 5_000);
    stack.stoppers.unshift(async () => {
      clearInterval(timer);
      fs.rmSync(healthFile, { force: true });
    });
  }
  // Retention runs beside the worker, hourly; the purge is idempotent, so several workers may run it.
  const days = stack.config.retentionDays;
  if (days !== undefined) {
    const purge = (): void => void purgeEndedRuns(stack.db, stack.secrets.audit, days * 86_400).catch((err: unknown) => stack.log.warn({ err }, 'retention purge failed'));
    purge();
    const timer = setInterval(purge, 3_600_000);
    stack.stoppers.unshift(async () => clearInterval(timer));
  }
  return w;
}

/**
 * Run workflow starts of the API: eager through the worker's NativeConnection when the worker shares the
 * process (same task queue) and AP_EAGER_WORKFLOW_START is not false. The API stops before the worker
 * (stoppers run in reverse), and a worker that stopped polling is not asked: the connection outlives its use.
 */
function runStartsFor(stack: Stack, worker: RunningWorker | undefined): RunStarts {
  if (!worker || !stack.config.temporal.eagerWorkflowStart) return new RunStarts();
  const client = clientOn(worker.connection, stack.config.temporal.namespace, masterKeys(stack.config), stack.tracing?.client);
  return new RunStarts({ client, usable: () => worker.worker.getState() === 'RUNNING' });
}

async function startApiIn(stack: Stack, worker: RunningWorker | undefined): Promise<{ server: http.Server; bus: EventBus; port: number }> {
  const bus = createEventBus(stack.databaseUrl, stack.log);
  const log = stack.log.child({ component: 'api' });
  const runStarts = runStartsFor(stack, worker);
  const app = createApp({ db: stack.db, config: stack.config, secrets: stack.secrets, log, temporal: stack.temporal, bus, codec: new EncryptionCodec(masterKeys(stack.config)), runStarts });
  const server = http.createServer(app);
  server.keepAliveTimeout = 65_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(stack.config.port, stack.config.host, () => resolve());
    });
  } catch (err) {
    await bus.close();
    throw err;
  }
  const port = (server.address() as { port: number }).port;
  stack.stoppers.unshift(async () => {
    // Stop accepting first, then tell SSE clients to reconnect elsewhere, then close what is left.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    endAllStreams();
    await bus.close();
    await new Promise<void>((resolve) => {
      void closed.then(resolve);
      // Open SSE streams and idle keep-alive sockets would hold close() forever.
      server.closeAllConnections();
    });
  });
  return { server, bus, port };
}

export async function bootstrapAdmin(stack: Stack): Promise<string | undefined> {
  return bootstrap(stack.db, stack.config.adminKey);
}

export const stopStack = (stack: Stack): Promise<void> => stopAll(stack.stoppers, stack.log);

async function stopAll(stoppers: (() => Promise<void>)[], log: Logger): Promise<void> {
  for (const stop of stoppers.splice(0)) {
    try {
      await stop();
    } catch (err) {
      log.warn({ err }, 'error during shutdown');
    }
  }
}

/** Stops everything on SIGINT/SIGTERM; a second signal exits at once. */
export function onShutdown(stack: Stack, done?: () => void): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(130);
    stopping = true;
    say(`Received ${signal}: stopping...`);
    void stopStack(stack).then(() => {
      say('Stopped.');
      done?.();
      process.exit(0);
    });
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
