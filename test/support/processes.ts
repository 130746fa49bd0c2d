// Starting `ap api` / `ap worker` as separate OS processes, the way users scale them out.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

export interface ApProcess {
  child: ChildProcess;
  logFile: string;
  /** Resolves when the process printed its `Ready:` line. */
  ready: Promise<void>;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** `nodeArgs`: options for node itself, before the script (the bench's `--cpu-prof`, which NODE_OPTIONS refuses). */
export function spawnAp(args: string[], env: Record<string, string>, logFile: string, nodeArgs: string[] = []): ApProcess {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = fs.createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, [...nodeArgs, path.join(ROOT, 'bin/ap.js'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (b: Buffer): void => {
      out += b.toString();
      log.write(b);
      if (/^Ready:/m.test(out)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (b: Buffer) => {
      out += b.toString();
      log.write(b);
    });
    child.once('exit', (code) => reject(new Error(`ap ${args.join(' ')} exited with ${code} before it was ready:\n${out.slice(-3000)}`)));
  });
  ready.catch(() => undefined);
  // The log ends once the process's output pipes have closed: output can still arrive after its exit event
  // (a write to the ended log then crashed the test process with ERR_STREAM_WRITE_AFTER_END).
  const closed = new Promise<void>((r) => child.once('close', () => log.end(() => r())));
  return {
    child,
    logFile,
    ready,
    output: () => out,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await closed;
    },
  };
}

/** `ap start` on a data directory and port, as a user runs it (private network allowed for the fixtures). */
export function spawnStart(dataDir: string, port: number, temporalCli: string, logFile: string, logLevel = 'debug'): ApProcess {
  return spawnAp(['start'], { AP_DATA_DIR: dataDir, AP_PORT: String(port), AP_ALLOW_PRIVATE_NETWORK: 'true', AP_TEMPORAL_CLI: temporalCli, LOG_LEVEL: logLevel }, logFile);
}

/** Live processes whose command line names the data directory: its PostgreSQL (-D) and Temporal (--db-filename). */
export function serversOf(dataDir: string): string[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((pid) => {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return argv.some((a) => a.startsWith(dataDir)) && !argv.some((a) => a.endsWith('ap.js')) ? [`${pid} ${argv.join(' ').slice(0, 200)}`] : [];
    } catch {
      return []; // gone meanwhile
    }
  });
}
