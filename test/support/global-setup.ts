// Global setup of the integration and e2e tests: a real PostgreSQL (DATABASE_URL, else embedded) with
// a fresh database, a real Temporal dev server, migrations, and one `ap api` + one `ap worker` process
// on a task queue of their own. Tests get their own workspaces; nothing is truncated.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node' with { 'resolution-mode': 'import' };
import { startEmbeddedPostgres, type EmbeddedDb } from '../../src/db/embedded';
import { findTemporalCli, freePort, startDevServer, type DevServer } from '../../src/temporal/dev-server';
import { spawnAp, type ApProcess } from './processes';
import { findTemporalServer, startPostgresTemporal } from './temporal-postgres';
import { freshDatabase } from './fresh-database';
import { CANARY_PREFIX, scanForCanaries } from './canaries';
import { eventsOffCatalogue } from './event-catalogue';

declare module 'vitest' {
  export interface ProvidedContext {
    env: TestEnv;
  }
}

export interface TestEnv {
  apiUrl: string;
  adminKey: string;
  databaseUrl: string;
  temporalAddress: string;
  temporalCli: string;
  temporalDb: string;
  /** Which Temporal server the suite runs on: the dev server (SQLite) or AP_TEST_TEMPORAL=postgres. */
  temporalBackend: 'dev-server' | 'postgres';
  namespace: string;
  taskQueue: string;
  masterKey: string;
  runDir: string;
  logDir: string;
}

const ROOT = path.resolve(__dirname, '../..');
const SCAN_RESULT = path.join(ROOT, '.test-data', 'secret-scan.json');

export default async function setup(project: TestProject) {
  const runDir = path.join(ROOT, '.test-data', `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`);
  const logDir = path.join(runDir, 'logs');
  // Earlier runs' data (databases, logs) is kept for a day for debugging, then removed here.
  const dataRoot = path.join(ROOT, '.test-data');
  for (const d of fs.existsSync(dataRoot) ? fs.readdirSync(dataRoot) : []) {
    const full = path.join(dataRoot, d);
    if (fs.statSync(full).isDirectory() && Date.now() - fs.statSync(full).mtimeMs > 86_400_000) fs.rmSync(full, { recursive: true, force: true });
  }
  fs.mkdirSync(logDir, { recursive: true });
  fs.rmSync(SCAN_RESULT, { force: true });
  fs.chmodSync(path.dirname(runDir), 0o755);
  fs.chmodSync(runDir, 0o755);
  const say = (line: string) => process.stdout.write(`[setup] ${line}\n`);

  let embedded: EmbeddedDb | undefined;
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    embedded = await startEmbeddedPostgres(path.join(runDir, 'pg'), say);
    serverUrl = embedded.url;
  }
  const { databaseUrl, adminKey } = await freshDatabase(serverUrl, 'ap_test');

  const temporalCli = await findTemporalCli(process.env.AP_TEMPORAL_CLI, say);
  // A SQLite file (not memory), so that a test can look at what the Temporal server stores.
  const temporalDb = path.join(runDir, 'temporal.db');
  const temporalBackend = process.env.AP_TEST_TEMPORAL === 'postgres' ? 'postgres' : 'dev-server';
  let temporal: Pick<DevServer, 'address' | 'stop'>;
  if (temporalBackend === 'postgres') {
    // The production-style server on the same PostgreSQL server (vitest.temporal-postgres.config.mts);
    // temporalDb then names no file, so tests that read it stay out of that suite.
    const binaries = await findTemporalServer(say);
    const runId = `${Date.now()}_${process.pid}`;
    temporal = await startPostgresTemporal({ binaries, serverUrl, namespace: 'default', logFile: path.join(logDir, 'temporal.log'), runId, say });
  } else {
    temporal = await startDevServer({ binary: temporalCli, namespace: 'default', dbFile: temporalDb, logFile: path.join(logDir, 'temporal.log') });
    say(`Temporal dev server on ${temporal.address}`);
  }

  const masterKey = crypto.randomBytes(32).toString('base64');
  const taskQueue = `ap-test-${crypto.randomUUID()}`;
  const port = await freePort();
  const env = {
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    AP_MASTER_KEY: masterKey,
    AP_ALLOW_PRIVATE_NETWORK: 'true',
    // OAuth redirect URIs (API.md 12) point at this API; the worker builds them.
    AP_PUBLIC_URL: `http://127.0.0.1:${port}`,
    AP_DATA_DIR: path.join(runDir, 'data'),
    LOG_LEVEL: 'debug',
    // Short webhook backoff, so that retries happen within a test.
    AP_WEBHOOK_RETRY_SCHEDULE: '0.5,0.5,0.5',
    // A provider that never answers the model-card probe fails it in 3 s instead of 6 (the fakes answer at once).
    AP_MODEL_CARD_PROBE_TIMEOUT_MS: '3000',
  };
  const processes: ApProcess[] = [
    spawnAp(['worker'], env, path.join(logDir, 'worker.log')),
    spawnAp(['api'], { ...env, AP_PORT: String(port) }, path.join(logDir, 'api.log')),
  ];
  await Promise.all(processes.map((p) => p.ready));

  const testEnv: TestEnv = {
    apiUrl: `http://127.0.0.1:${port}`,
    adminKey,
    databaseUrl,
    temporalAddress: temporal.address,
    temporalCli,
    temporalDb,
    temporalBackend,
    namespace: 'default',
    taskQueue,
    masterKey,
    runDir,
    logDir,
  };
  project.provide('env', testEnv);

  return async () => {
    await Promise.all(processes.map((p) => p.kill('SIGTERM')));
    // The last word on secrets: no canary value in any log line, stored event or Temporal history.
    const leaks = await scanForCanaries(testEnv);
    const events = await eventsOffCatalogue(testEnv.databaseUrl);
    await temporal.stop();
    if (embedded) await embedded.stop();
    // vitest reports an error thrown here but still exits 0, so the verdict also goes to a file that
    // `npm test` checks after vitest (test/support/verify-secret-scan.js).
    fs.writeFileSync(SCAN_RESULT, JSON.stringify({ finished_at: new Date().toISOString(), run_dir: runDir, leaks, events }));
    if (events.issues.length) throw new Error(`Stored run events off the catalogue (src/domain/run-event.ts): ${events.issues.join('; ')}`);
    if (leaks.length) throw new Error(`Secret canaries (${CANARY_PREFIX}...) leaked into: ${leaks.join('; ')}`);
  };
}
