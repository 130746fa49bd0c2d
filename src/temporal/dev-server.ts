// The embedded Temporal dev server (`temporal server start-dev`), and where its binary comes from:
// AP_TEMPORAL_CLI, `temporal` on PATH, our cache, the official release archive (checked against its
// pinned SHA-256), a `go install` build, in that order (OPERATIONS.md, issue 19).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { devServerSearchAttributeArgs } from './search-attributes';
import { spawnWatched, stopLeftover } from '../process/watchdog';
import { cliArchive, downloadTemporalCli } from './cli-download';
import { stablePort, freePort } from '../process/ports';
import { killGroup, stopServer } from '../process/stop';
import { createProgress, elapsed, type Progress } from '../process/progress';

// Where they were: tests and the bench import them from here.
export { freePort, stablePort, stopServer };

export const TEMPORAL_CLI_VERSION = '1.5.1';
export const cacheDir = (): string => path.join(os.homedir(), '.cache', 'agent-platform', `temporal-${TEMPORAL_CLI_VERSION}`);

type Say = (line: string) => void;

function onPath(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, bin);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      /* keep looking */
    }
  }
  return undefined;
}

/**
 * `progress` shows the build's and the download's state (a line rewritten in place on a terminal); by
 * default a line through `say` at most every 15 s.
 */
export async function findTemporalCli(explicit: string | undefined, say: Say, progress: Progress = createProgress({ write: (s) => say(s.replace(/\n$/, '')) })): Promise<string> {
  if (explicit) {
    if (!fs.existsSync(explicit)) throw new Error(`AP_TEMPORAL_CLI points to ${explicit}, which does not exist`);
    say(`Temporal CLI: using AP_TEMPORAL_CLI (${explicit})`);
    return explicit;
  }
  const fromPath = onPath('temporal');
  if (fromPath) {
    say(`Temporal CLI: using ${fromPath} from PATH`);
    return fromPath;
  }
  const cached = path.join(cacheDir(), 'temporal');
  if (fs.existsSync(cached)) {
    say(`Temporal CLI: using cached ${cached}`);
    return cached;
  }
  let downloadFailure: string | undefined;
  const archive = process.env.AP_TEMPORAL_CLI_DOWNLOAD === 'off' ? undefined : cliArchive(TEMPORAL_CLI_VERSION);
  if (archive) {
    say(`Temporal CLI: downloading ${archive.url}...`);
    try {
      return await downloadTemporalCli(archive, cacheDir(), progress);
    } catch (err) {
      downloadFailure = `${(err as Error).message}${(err as { cause?: { code?: string } }).cause?.code ? ` (${(err as { cause: { code: string } }).cause.code})` : ''}`;
      say(`Temporal CLI: download failed: ${downloadFailure}`);
    }
  }
  const go = onPath('go');
  if (!go) {
    throw new Error(
      `No Temporal CLI found${downloadFailure ? ` (the download failed: ${downloadFailure})` : ''}: set AP_TEMPORAL_CLI, put \`temporal\` on PATH, ` +
        'allow the download from github.com (or a mirror: AP_TEMPORAL_CLI_URL and AP_TEMPORAL_CLI_SHA256), install Go so that it can be built, ' +
        'or set TEMPORAL_ADDRESS to use an existing Temporal server',
    );
  }
  await buildWithGo(go, say, progress);
  return cached;
}

async function buildWithGo(go: string, say: Say, progress: Progress): Promise<void> {
  fs.mkdirSync(cacheDir(), { recursive: true });
  say(`Temporal CLI: building github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION} with Go (a first build takes several minutes)...`);
  const started = Date.now();
  let modules = 0;
  const show = (): void => progress.update(`Temporal CLI: building with Go: ${modules} module(s) downloaded, ${elapsed(Date.now() - started)} so far`);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(go, ['install', `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`], {
      env: { ...process.env, GOBIN: cacheDir() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tail = '';
    // The elapsed time moves on even while Go says nothing (compiling).
    const ticker = setInterval(show, 1000);
    const collect = (b: Buffer): void => {
      tail = (tail + b.toString()).slice(-4000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', (b: Buffer) => {
      collect(b);
      const downloads = b.toString().match(/go: downloading \S+/g);
      if (downloads) {
        modules += downloads.length;
        show();
      }
    });
    child.on('error', (err) => {
      clearInterval(ticker);
      reject(err);
    });
    child.on('close', (code) => {
      clearInterval(ticker);
      if (code === 0) resolve();
      else {
        progress.done(`Temporal CLI: the Go build failed after ${elapsed(Date.now() - started)}`);
        reject(new Error(`go install of the Temporal CLI failed (exit ${code}): ${tail.trim().split('\n').slice(-5).join(' | ')}`));
      }
    });
  });
  progress.done(`Temporal CLI: built in ${elapsed(Date.now() - started)} (${modules} module(s) downloaded) into ${cacheDir()}`);
}

/** The end of a log file, to say why a server did not start. */
function logTail(file: string | undefined): string {
  if (!file) return '';
  try {
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-5).join('\n');
    return lines ? `; the end of ${file}:\n${lines}` : '';
  } catch {
    return '';
  }
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number, logFile?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`Temporal dev server exited with ${child.exitCode !== null ? `code ${child.exitCode}` : child.signalCode}${logTail(logFile)}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Temporal dev server did not listen on ${port} within ${timeoutMs / 1000}s${logTail(logFile)}`);
}

export interface DevServer {
  address: string;
  uiUrl: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * The dev server's dynamic config as we run it (issue 18). Its defaults throttle the transfer queue to
 * 20 reads a second per shard, and the dev server has one shard: every task (workflow task, activity)
 * waited 30–45 ms between "scheduled" and "started". These are the values docker-compose.yml and docs/operations.md
 * "Running in production" give a cluster too; docs/performance.md has what each one saved here.
 */
export const DEV_SERVER_TUNING: Readonly<Record<string, string>> = {
  // How often the history service reads new tasks off its transfer queue, per shard and per host.
  'history.transferProcessorMaxPollRPS': '1000',
  'history.transferProcessorMaxPollHostRPS': '10000',
  // An activity scheduled by a workflow task is handed to the worker that completed that task, in the
  // task's answer, instead of a trip through the task queue (the SDK asks for it by default).
  'system.enableActivityEagerExecution': 'true',
};

/**
 * With a database file: SQLite in write-ahead-log mode, each commit fsynced (`synchronous=full`), so a
 * killed server loses nothing it acknowledged (fault 3), without the rollback journal's extra writes.
 */
export const DEV_SERVER_SQLITE_PRAGMAS: Readonly<Record<string, string>> = { journal_mode: 'wal', synchronous: 'full' };

/** Dynamic-config values and SQLite pragmas to start a dev server with (the bench measures each alone). */
export interface DevServerTuning {
  dynamicConfig: Readonly<Record<string, string>>;
  sqlitePragmas: Readonly<Record<string, string>>;
}

/** `tuned`: DEV_SERVER_TUNING and DEV_SERVER_SQLITE_PRAGMAS; `defaults`: none of them. */
export function devServerTuning(tuning: 'tuned' | 'defaults' | DevServerTuning): DevServerTuning {
  if (tuning === 'tuned') return { dynamicConfig: DEV_SERVER_TUNING, sqlitePragmas: DEV_SERVER_SQLITE_PRAGMAS };
  if (tuning === 'defaults') return { dynamicConfig: {}, sqlitePragmas: {} };
  return tuning;
}

/** The `temporal server start-dev` flags of a tuning; pragmas only apply to a database file. */
export function devServerTuningArgs(tuning: 'tuned' | 'defaults' | DevServerTuning, withFile: boolean): string[] {
  const t = devServerTuning(tuning);
  const args = Object.entries(t.dynamicConfig).flatMap(([k, v]) => ['--dynamic-config-value', `${k}=${v}`]);
  if (withFile) args.push(...Object.entries(t.sqlitePragmas).flatMap(([k, v]) => ['--sqlite-pragma', `${k}=${v}`]));
  return args;
}

export interface DevServerOptions {
  binary: string;
  /** SQLite file; omitted = in memory. */
  dbFile?: string;
  namespace: string;
  port?: number;
  uiPort?: number;
  logFile?: string;
  /**
   * `tuned` (the default) lifts the dev server's dispatch throttle and turns on eager activities
   * (DEV_SERVER_TUNING); `defaults` starts it as the CLI does, for the bench's baseline of an untuned server;
   * or any set of values (the bench measures each one alone).
   */
  tuning?: 'tuned' | 'defaults' | DevServerTuning;
  /**
   * Runs it under a watchdog that stops it when this process dies (`ap start`). Off, `process` is the
   * server itself, which tests SIGKILL to fake a crash.
   */
  watchdog?: boolean;
}

/**
 * Starts the dev server. A port found free can be taken by another socket before the server binds it,
 * so when the ports were not given, a start that fails is tried again on new ones.
 */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const attempts = opts.port === undefined ? 3 : 1;
  for (let i = 1; ; i++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      if (i >= attempts) throw err;
    }
  }
}

async function startOnce(opts: DevServerOptions): Promise<DevServer> {
  const port = opts.port ?? (await freePort());
  const uiPort = opts.uiPort ?? (await freePort());
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(uiPort), '--namespace', opts.namespace, '--log-level', 'warn', ...devServerSearchAttributeArgs()];
  // The dev server registers --search-attribute only into a new database; for an older one, the
  // processes add the missing ones at start (src/temporal/search-attributes.ts).
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  args.push(...devServerTuningArgs(opts.tuning ?? 'tuned', opts.dbFile !== undefined));
  const out = opts.logFile ? fs.openSync(opts.logFile, 'a') : 'ignore';
  // Under a watchdog (src/process/watchdog.ts) the server goes when we go, even SIGKILLed. detached: the
  // server gets its own process group, so a Ctrl-C reaches it only through our ordered shutdown.
  const child = opts.watchdog
    ? spawnWatched(opts.binary, args, { stopSignal: 'SIGTERM', stdout: out, pidFile: opts.dbFile ? pidFileOf(opts.dbFile) : undefined, graceMs: 8_000 })
    : spawn(opts.binary, args, { stdio: ['ignore', out, out], detached: true });
  if (typeof out === 'number') fs.closeSync(out);
  try {
    await waitForPort(port, child, 60_000, opts.logFile);
  } catch (err) {
    killGroup(child);
    throw err;
  }
  return {
    address: `127.0.0.1:${port}`,
    uiUrl: `http://127.0.0.1:${uiPort}`,
    process: child,
    stop: () => stopServer(child, 10_000, true),
  };
}

const pidFileOf = (dbFile: string): string => `${dbFile}.pid`;

/**
 * A dev server of an earlier start on the same database file (its watchdog died with it, or it predates
 * watchdogs) holds that file: stop it first. Ours = `temporal server start-dev ... --db-filename <file>`.
 */
export async function stopLeftoverDevServer(dbFile: string, say: Say): Promise<void> {
  const ours = (argv: string[]): boolean => argv.includes('start-dev') && argv[argv.indexOf('--db-filename') + 1] === dbFile;
  await stopLeftover(pidFileOf(dbFile), ours, 'SIGTERM', say);
}

/** The watchdog and its server share a process group (the watchdog leads it): SIGKILL reaches both. */

/** For tests and CLI checks: is a binary runnable at all? */
export const canRun = (binary: string): boolean => spawnSync(binary, ['--version']).status === 0;
