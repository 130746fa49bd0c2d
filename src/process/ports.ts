// Ports for the servers the platform and its tests start: any free one, or a stable one below the
// kernel's ephemeral range for a server that is restarted on the same port.
import fs from 'node:fs';
import net from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** The kernel's ephemeral port range (what `listen(0)` and outgoing connections are given). */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(lo) && Number.isInteger(hi)) return [lo!, hi!];
  } catch {
    /* not Linux */
  }
  return [32768, 60999];
}

const isFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });

/** The ports stablePort() gave out in this process. */
const given = new Set<number>();

/**
 * A free port below the ephemeral range, for a server that is started again on the same port (a
 * restarted process, a cluster whose port is kept). A port from `freePort()` is an ephemeral one: while
 * the server is down an outgoing connection can be given it, and that connection's TIME_WAIT then
 * makes the restart fail with EADDRINUSE for a minute.
 */
export async function stablePort(): Promise<number> {
  const [lo] = ephemeralRange();
  const first = Math.max(1024, lo - 12_000);
  if (lo - first >= 1000) {
    for (let i = 0; i < 50; i++) {
      const port = first + Math.floor(Math.random() * (lo - first));
      // A port given before may belong to a server that is down for its restart: never give it twice.
      if (!given.has(port) && (await isFree(port))) {
        given.add(port);
        return port;
      }
    }
  }
  return freePort();
}
