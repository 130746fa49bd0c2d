// A production-style Temporal server for the tests (AP_TEST_TEMPORAL=postgres): the `server` binary of
// go.temporal.io/server with its data in PostgreSQL, configured by test/temporal-postgres/. Test-only:
// in production the platform uses whatever cluster TEMPORAL_ADDRESS names (OPERATIONS.md).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { freePort, stopServer } from '../../src/temporal/dev-server';

export const TEMPORAL_SERVER_VERSION = '1.29.1';
const MODULE = 'go.temporal.io/server';
const ROOT = path.resolve(__dirname, '../..');
const CONFIG_DIR = 'test/temporal-postgres';

type Say = (line: string) => void;

/** Where the binaries and a copy of the schema files are kept between runs (like the CLI's cache). */
export const serverCacheDir = (): string => path.join(os.homedir(), '.cache', 'agent-platform', `temporal-server-${TEMPORAL_SERVER_VERSION}`);

export interface TemporalServerBinaries {
  server: string;
  sql: string;
  /** schema/postgresql/v12 of the server module: `temporal/versioned` and `visibility/versioned`. */
  schemaDir: string;
}

/** An override may name the binary or the directory holding it. */
function fromEnv(value: string, name: string, variable: string): string {
  const file = fs.existsSync(value) && fs.statSync(value).isDirectory() ? path.join(value, name) : value;
  if (!fs.existsSync(file)) throw new Error(`${variable} points to ${value}, where there is no ${name} binary`);
  return file;
}

function goBinary(): string | undefined {
  const r = spawnSync('go', ['version']);
  return r.status === 0 ? 'go' : undefined;
}

/** The two binaries (AP_TEMPORAL_SERVER / AP_TEMPORAL_SQL, else our cache, else a `go install`) and the schema. */
export async function findTemporalServer(say: Say): Promise<TemporalServerBinaries> {
  const cache = serverCacheDir();
  const wanted = [
    { name: 'server', variable: 'AP_TEMPORAL_SERVER', pkg: `${MODULE}/cmd/server` },
    { name: 'sql', variable: 'AP_TEMPORAL_SQL', pkg: `${MODULE}/cmd/tools/sql` },
  ];
  const found: Record<string, string> = {};
  for (const w of wanted) {
    const explicit = process.env[w.variable];
    const file = explicit ? fromEnv(explicit, w.name, w.variable) : path.join(cache, w.name);
    if (!fs.existsSync(file)) await goInstall(`${w.pkg}@v${TEMPORAL_SERVER_VERSION}`, say);
    found[w.name] = file;
  }
  say(`Temporal server: ${found.server} (${TEMPORAL_SERVER_VERSION}), SQL tool ${found.sql}`);
  return { server: found.server!, sql: found.sql!, schemaDir: findSchema(say) };
}

/** The schema ships in the module source; a copy in the cache survives `go clean -modcache`. */
function findSchema(say: Say): string {
  const cached = path.join(serverCacheDir(), 'schema', 'postgresql', 'v12');
  if (fs.existsSync(cached)) return cached;
  if (!goBinary()) throw new Error(`No schema files for the Temporal server in ${cached}, and no Go to fetch ${MODULE}@v${TEMPORAL_SERVER_VERSION}`);
  const modCache = spawnSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).stdout.trim();
  const source = path.join(modCache, `${MODULE}@v${TEMPORAL_SERVER_VERSION}`, 'schema', 'postgresql', 'v12');
  if (!fs.existsSync(source)) {
    const r = spawnSync('go', ['mod', 'download', `${MODULE}@v${TEMPORAL_SERVER_VERSION}`], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`go mod download ${MODULE}@v${TEMPORAL_SERVER_VERSION} failed: ${r.stderr.trim()}`);
  }
  fs.cpSync(source, cached, { recursive: true });
  // Module files are read-only; the copy should be removable like the rest of the cache.
  spawnSync('chmod', ['-R', 'u+w', cached]);
  say(`Temporal server: schema files copied to ${cached}`);
  return cached;
}

async function goInstall(pkg: string, say: Say): Promise<void> {
  if (!goBinary()) {
    throw new Error(`No ${pkg} in ${serverCacheDir()}: install Go so that it can be built, or set AP_TEMPORAL_SERVER and AP_TEMPORAL_SQL`);
  }
  fs.mkdirSync(serverCacheDir(), { recursive: true });
  say(`Temporal server: building ${pkg} with Go (a first build takes several minutes)...`);
  const started = Date.now();
  const ticker = setInterval(() => say(`Temporal server: still building (${Math.round((Date.now() - started) / 1000)}s)...`), 30_000);
  try {
    await runTool('go', ['install', pkg], { GOBIN: serverCacheDir() });
  } finally {
    clearInterval(ticker);
  }
  say(`Temporal server: built ${pkg} in ${Math.round((Date.now() - started) / 1000)}s into ${serverCacheDir()}`);
}

function runTool(binary: string, args: string[], env: Record<string, string> = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const collect = (b: Buffer): void => {
      tail = (tail + b.toString()).slice(-4000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(binary)} ${args.join(' ')} failed (exit ${code}): ${tail.trim().split('\n').slice(-5).join(' | ')}`));
    });
  });
}

interface PgTarget {
  host: string;
  port: string;
  user: string;
  password: string;
}

function pgTarget(serverUrl: string): PgTarget {
  const u = new URL(serverUrl);
  return { host: u.hostname, port: u.port || '5432', user: decodeURIComponent(u.username) || 'postgres', password: decodeURIComponent(u.password) };
}

/** create-database, the base schema, then every versioned step: what an operator runs for a new cluster. */
async function setupDatabase(bin: TemporalServerBinaries, pg: PgTarget, db: string, versioned: string): Promise<void> {
  const common = ['--plugin', 'postgres12', '--ep', pg.host, '-p', pg.port, '-u', pg.user, '--pw', pg.password, '--db', db];
  await runTool(bin.sql, [...common, 'create-database']);
  await runTool(bin.sql, [...common, 'setup-schema', '-v', '0.0']);
  await runTool(bin.sql, [...common, 'update-schema', '-d', versioned]);
}

export interface PostgresTemporal {
  address: string;
  /** The two databases on the PostgreSQL server (kept after the run, like the test database). */
  databases: { main: string; visibility: string };
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface PostgresTemporalOptions {
  binaries: TemporalServerBinaries;
  /** Any database URL on the PostgreSQL server: its host, port, user and password are used. */
  serverUrl: string;
  namespace: string;
  logFile: string;
  /** Suffix of the database names `temporal_<runId>` and `temporal_visibility_<runId>`. */
  runId: string;
  say: Say;
  /** mTLS on the frontend: PEM files of a CA, the server's certificate (for serverName) and a client's. */
  tls?: MtlsFiles;
}

export interface MtlsFiles {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  serverName: string;
}

/** The SDK's TLS options for a client holding the files' client certificate. */
export const clientTls = (t: MtlsFiles) => ({
  serverNameOverride: t.serverName,
  serverRootCACertificate: fs.readFileSync(t.ca),
  clientCertPair: { crt: fs.readFileSync(t.clientCert), key: fs.readFileSync(t.clientKey) },
});

/** Sets up two new databases, starts the server on them, and creates the namespace. */
export async function startPostgresTemporal(opts: PostgresTemporalOptions): Promise<PostgresTemporal> {
  const pg = pgTarget(opts.serverUrl);
  const databases = { main: `temporal_${opts.runId}`, visibility: `temporal_visibility_${opts.runId}` };
  const started = Date.now();
  await Promise.all([
    setupDatabase(opts.binaries, pg, databases.main, path.join(opts.binaries.schemaDir, 'temporal', 'versioned')),
    setupDatabase(opts.binaries, pg, databases.visibility, path.join(opts.binaries.schemaDir, 'visibility', 'versioned')),
  ]);
  opts.say(`Temporal server: databases ${databases.main} and ${databases.visibility} on ${pg.host}:${pg.port} in ${Date.now() - started} ms`);
  // A port found free can be taken before the server binds it: a failed start is tried on new ones.
  for (let attempt = 1; ; attempt++) {
    try {
      const server = await startOnce(opts, pg, databases);
      opts.say(`Temporal server: ready on ${server.address} ${Math.round((Date.now() - started) / 1000)}s after the schema setup began`);
      return server;
    } catch (err) {
      if (attempt >= 3) throw err;
      opts.say(`Temporal server: start failed (${(err as Error).message}), trying new ports`);
    }
  }
}

async function startOnce(opts: PostgresTemporalOptions, pg: PgTarget, databases: PostgresTemporal['databases']): Promise<PostgresTemporal> {
  const ports: Record<string, number> = {};
  for (const name of ['FRONTEND', 'FRONTEND_HTTP', 'HISTORY', 'MATCHING', 'WORKER']) ports[`TPG_${name}_PORT`] = await freePort();
  for (const name of ['FRONTEND', 'HISTORY', 'MATCHING', 'WORKER']) ports[`TPG_${name}_MEMBERSHIP_PORT`] = await freeMembershipPort();
  const env = {
    ...process.env,
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    TPG_DB_HOST: pg.host,
    TPG_DB_PORT: pg.port,
    TPG_DB_USER: pg.user,
    TPG_DB_PASSWORD: pg.password,
    TPG_DB: databases.main,
    TPG_VISIBILITY_DB: databases.visibility,
    TPG_DYNAMIC_CONFIG: path.join(ROOT, CONFIG_DIR, 'dynamicconfig.yaml'),
    TPG_LOG_LEVEL: process.env.AP_TEMPORAL_LOG_LEVEL ?? 'warn',
    ...(opts.tls
      ? { TPG_TLS_CA: opts.tls.ca, TPG_TLS_SERVER_CERT: opts.tls.serverCert, TPG_TLS_SERVER_KEY: opts.tls.serverKey, TPG_TLS_CLIENT_CERT: opts.tls.clientCert, TPG_TLS_CLIENT_KEY: opts.tls.clientKey, TPG_TLS_SERVER_NAME: opts.tls.serverName }
      : {}),
  };
  const out = fs.openSync(opts.logFile, 'a');
  // `--env config` selects config.yaml in the config directory. detached: its own process group, so a
  // Ctrl-C reaches it only through our ordered shutdown.
  const child = spawn(opts.binaries.server, ['--root', ROOT, '--config', CONFIG_DIR, '--env', 'config', '--allow-no-auth', 'start'], { env, stdio: ['ignore', out, out], detached: true });
  fs.closeSync(out);
  const stop = (): Promise<void> => stopServer(child);
  const address = `127.0.0.1:${ports.TPG_FRONTEND_PORT}`;
  try {
    await waitUntilServing(address, child, opts.namespace, opts.logFile, opts.tls);
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, databases, process: child, stop };
}

/**
 * The server stores its membership port in a smallint column (cluster_membership.rpc_port): a port
 * from the ephemeral range (32768 and up) makes it exit at start. So these come from below that.
 */
async function freeMembershipPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.unref();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

/** Polls with a deadline until the frontend answers, then creates the namespace and waits until it resolves. */
async function waitUntilServing(address: string, child: ChildProcess, namespace: string, logFile: string, tls?: MtlsFiles): Promise<void> {
  const deadline = Date.now() + 120_000;
  let last: unknown;
  const alive = (): void => {
    if (child.exitCode !== null) throw new Error(`Temporal server exited with code ${child.exitCode} (log: ${logFile})`);
  };
  const pause = () => new Promise((r) => setTimeout(r, 250));
  let connection: Connection | undefined;
  try {
    while (!connection) {
      alive();
      try {
        const c = await Connection.connect({ address, connectTimeout: 2_000, ...(tls ? { tls: clientTls(tls) } : {}) });
        await c.workflowService.getSystemInfo({});
        connection = c;
      } catch (err) {
        last = err;
        if (Date.now() > deadline) throw new Error(`Temporal server on ${address} did not answer within 120s: ${String(last)} (log: ${logFile})`);
        await pause();
      }
    }
    try {
      // 24 h, like the dev server: workflow-id reuse dedupes within retention (README, Traps).
      await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('24h') });
    } catch (err) {
      if (!/already exists/i.test(String(err))) throw err;
    }
    // The frontend learns of a new namespace on its next registry refresh (2 s by default).
    for (;;) {
      alive();
      try {
        await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 });
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`namespace ${namespace} not usable on ${address} within 120s: ${String(err)}`);
        await pause();
      }
    }
  } finally {
    await connection?.close();
  }
}
