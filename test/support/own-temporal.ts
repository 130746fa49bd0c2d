// A Temporal dev server of a test's own, on a port a restart can take again and a SQLite file of its own,
// so that killing it harms no other test (the fault tests; the eager-start test).
import path from 'node:path';
import { stablePort, startDevServer, type DevServer, type DevServerTuning } from '../../src/temporal/dev-server';
import { env } from './api';

export interface OwnTemporal {
  address: string;
  /** SIGKILL: no shutdown of any kind. */
  kill(): Promise<void>;
  /** Starts it again on the same port and the same SQLite file. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** `tuning`: as startDevServer's (the tuned server by default). */
export async function ownTemporal(name: string, tuning?: DevServerTuning): Promise<OwnTemporal> {
  const e = env();
  // Below the ephemeral range: a restart on the same ports must not find them taken by an outgoing connection.
  const port = await stablePort();
  const uiPort = await stablePort();
  const opts = { binary: e.temporalCli, namespace: 'default', port, uiPort, ...(tuning ? { tuning } : {}), dbFile: path.join(e.runDir, `${name}-temporal.db`), logFile: path.join(e.logDir, `${name}-temporal.log`) };
  let server: DevServer = await startDevServer(opts);
  const kill = async () => {
    const child = server.process;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await exited;
  };
  return {
    address: `127.0.0.1:${port}`,
    kill,
    async restart() {
      await kill();
      server = await startDevServer(opts);
    },
    stop: () => server.stop(),
  };
}
