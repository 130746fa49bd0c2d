// The embedded Temporal dev server launcher's ports and its start errors (src/temporal/dev-server.ts).
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, stablePort, startDevServer } from '../../src/temporal/dev-server';

const listen = (port: number): Promise<net.Server> =>
  new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });

/** A connection from `port` that the client closes first, so that `port` is left in TIME_WAIT. */
async function timeWaitOn(): Promise<number> {
  const peer = await listen(0);
  peer.on('connection', (s) => s.on('end', () => s.end()).resume());
  const port = await new Promise<number>((resolve) => {
    const c = net.connect((peer.address() as net.AddressInfo).port, '127.0.0.1', () => {
      const local = c.localPort!;
      c.end();
      c.once('close', () => resolve(local));
    });
  });
  peer.close();
  return port;
}

describe('Temporal dev server launcher', () => {
  it('an ephemeral port closed by a client cannot be listened on for a while; stablePort gives one below that range, free', async () => {
    // Why restarts on the same port need stablePort: an outgoing connection's TIME_WAIT holds its port.
    const taken = await timeWaitOn();
    await expect(listen(taken)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    const [lo] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    expect(taken).toBeGreaterThanOrEqual(lo!);
    const ports = new Set<number>();
    for (let i = 0; i < 5; i++) {
      const port = await stablePort();
      ports.add(port);
      // Below the range when there is room for it (here: 32768-60999); else an ephemeral one all the same.
      if (lo! - 1024 >= 1000) {
        expect(port).toBeLessThan(lo!);
        expect(port).toBeGreaterThanOrEqual(1024);
      }
      (await listen(port)).close();
    }
    expect(ports.size).toBe(5); // never the same port twice
  });

  it('a server that exits at start is reported with the end of its log', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ap-devserver-'));
    const binary = path.join(dir, 'temporal');
    fs.writeFileSync(binary, '#!/bin/sh\necho "can\'t set frontend port: address already in use" >&2\nexit 1\n', { mode: 0o755 });
    await expect(startDevServer({ binary, namespace: 'default', port: await freePort(), logFile: path.join(dir, 'temporal.log') }))
      .rejects.toThrow(/exited with code 1; the end of .*temporal\.log:\ncan't set frontend port: address already in use/);
  });

  it('stop() of a server that was SIGKILLed returns at once', async () => {
    // A stand-in binary that listens on the --port it is given, as the dev server does.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ap-devserver-'));
    const binary = path.join(dir, 'temporal');
    const listener = `const a = process.argv; require('net').createServer().listen(Number(a[a.indexOf('--port') + 1]), '127.0.0.1')`;
    fs.writeFileSync(binary, `#!/bin/sh\nexec "${process.execPath}" -e "${listener}" -- "$@"\n`, { mode: 0o755 });
    const server = await startDevServer({ binary, namespace: 'default', port: await stablePort() });
    const exited = new Promise((r) => server.process.once('exit', r));
    server.process.kill('SIGKILL');
    await exited;
    await server.stop();
  }, 5_000);
});
