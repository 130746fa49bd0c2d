// Child servers (the embedded PostgreSQL and Temporal dev server) must not outlive `ap start`, even when it
// is SIGKILLed or runs out of memory: each runs under a tiny Node watchdog that holds a pipe from us on its
// stdin. The kernel closes that pipe whenever we die, however we die; the watchdog then stops the server
// (its stop signal, SIGKILL after a grace period) and exits. Pid files and a /proc check clean up what an
// older start left (servers started before watchdogs existed, a watchdog killed by hand).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';

// Plain CommonJS run with `node -e`: no file to find, no TypeScript loader, ~1 ms of our start-up.
const WATCHDOG = `
const { spawn } = require('node:child_process');
const [bin, ...args] = process.argv.slice(1);
const o = JSON.parse(process.env.AP_WATCHDOG);
delete process.env.AP_WATCHDOG;
const child = spawn(bin, args, { stdio: ['ignore', 'inherit', 'inherit'], ...(o.uid !== undefined ? { uid: o.uid, gid: o.gid } : {}) });
const stop = (sig) => { if (child.exitCode === null && child.signalCode === null) child.kill(sig); };
let graced = false;
const shutdown = (sig) => {
  stop(sig);
  if (!graced) { graced = true; setTimeout(() => stop('SIGKILL'), o.graceMs).unref(); }
};
if (o.pidFile) require('node:fs').writeFileSync(o.pidFile, String(child.pid));
child.on('error', (err) => { process.stderr.write('watchdog: ' + err.message + '\\n'); process.exit(127); });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
process.stdin.on('end', () => shutdown(o.stopSignal));
process.stdin.on('error', () => shutdown(o.stopSignal));
process.stdin.resume();
// Any request to stop becomes the server's own stop signal (SIGTERM would be PostgreSQL's "smart" shutdown, which waits for clients).
for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(s, () => shutdown(o.stopSignal));
`;

export interface WatchedOptions {
  /** How the server is asked to stop when we are gone (PostgreSQL: SIGINT, a fast shutdown). */
  stopSignal: NodeJS.Signals;
  /** Where the server's stdout and stderr go. */
  stdout: 'pipe' | 'ignore' | number;
  /** Runs the server as this user (PostgreSQL refuses root). */
  uid?: number;
  gid?: number;
  /** The server's own pid is written here (the watchdog's pid is the ChildProcess's). */
  pidFile?: string;
  graceMs?: number;
}

/** Spawns `binary args` under a watchdog; signals sent to the returned process reach the server. */
export function spawnWatched(binary: string, args: string[], opts: WatchedOptions): ChildProcess {
  const o = { stopSignal: opts.stopSignal, uid: opts.uid, gid: opts.gid, pidFile: opts.pidFile, graceMs: opts.graceMs ?? 10_000 };
  return spawn(process.execPath, ['-e', WATCHDOG, '--', binary, ...args], {
    // detached: its own process group, so that a Ctrl-C reaches the server only through our ordered shutdown.
    detached: true,
    stdio: ['pipe', opts.stdout, opts.stdout],
    env: { ...process.env, AP_WATCHDOG: JSON.stringify(o) },
  });
}

/** The command line of a live process, or undefined (no such process, or not Linux). */
function cmdline(pid: number): string[] | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Stops the process whose pid the first line of `pidFile` holds, if it is still running and its command
 * line shows it is ours (`isOurs`): a reused pid of someone else's process is left alone. Resolves once
 * it is gone; true if there was one.
 */
export async function stopLeftover(pidFile: string, isOurs: (argv: string[]) => boolean, signal: NodeJS.Signals, say: (line: string) => void, graceMs = 30_000): Promise<boolean> {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]!.trim());
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) return false;
  const argv = cmdline(pid);
  if (!argv || !isOurs(argv)) return false;
  say(`Stopping process ${pid} left running by an earlier start (${argv[0]})`);
  process.kill(pid, signal);
  const deadline = Date.now() + graceMs;
  // A zombie (dead, not yet reaped: some containers' init never reaps) has an empty command line.
  while (alive(pid) && cmdline(pid)?.length) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      // A SIGKILLed process is gone within moments; wait for it without a second deadline.
      while (alive(pid) && cmdline(pid)?.length) await new Promise((r) => setTimeout(r, 50));
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}
