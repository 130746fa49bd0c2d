// Stopping a child server: SIGTERM, then SIGKILL after a grace period.
import type { ChildProcess } from 'node:child_process';

/** SIGKILL to the child's whole process group (a watchdog and its server), or to the child alone. */
export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

/**
 * SIGTERM, then SIGKILL after `graceMs` (to its whole process group when `group`: a watchdog and its
 * server); resolves once the process has exited (at once if it had).
 */
export async function stopServer(child: ChildProcess, graceMs = 10_000, group = false): Promise<void> {
  // A process killed by a signal has no exit code, only a signalCode; its exit event has already fired.
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => (group ? killGroup(child) : child.kill('SIGKILL')), graceMs);
  await exited;
  clearTimeout(timer);
}
