// Issue 9, item 5: the platform on a Temporal cluster that requires mTLS (the Temporal server on
// PostgreSQL with TLS on its frontend and a CA of the test's own), configured the way a Temporal Cloud
// or self-hosted user would: TEMPORAL_TLS_CERT / _KEY / _CA / _SERVER_NAME. Without a client certificate
// the processes cannot connect.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startPair, type Pair } from '../support/pair';
import { spawnAp } from '../support/processes';
import type { MtlsFiles, PostgresTemporal } from '../support/temporal-postgres';
import { ownPostgresTemporal } from './support';
import { Api, env, setupAgent, waitForStatus } from '../support/api';

let temporal: PostgresTemporal | undefined;
let pair: Pair | undefined;
afterAll(async () => {
  await pair?.api.kill('SIGKILL');
  await pair?.worker.kill('SIGKILL');
  await temporal?.stop();
});

/** A CA, a server certificate for `temporal.test` and 127.0.0.1, and a client certificate, with openssl. */
function makeCerts(dir: string): MtlsFiles {
  fs.mkdirSync(dir, { recursive: true });
  const f = (name: string) => path.join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=Agent Platform test CA');
  const leaf = (name: string, cn: string, ext: string) => {
    fs.writeFileSync(f(`${name}.ext`), ext);
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`);
    ssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${name}.pem`), '-days', '2', '-extfile', f(`${name}.ext`));
  };
  leaf('server', 'temporal.test', 'subjectAltName=DNS:temporal.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n');
  leaf('client', 'agent-platform', 'subjectAltName=DNS:agent-platform\nextendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n');
  return { ca: f('ca.pem'), serverCert: f('server.pem'), serverKey: f('server.key'), clientCert: f('client.pem'), clientKey: f('client.key'), serverName: 'temporal.test' };
}

describe('Temporal behind mTLS', () => {
  it('API and worker connect with TEMPORAL_TLS_* and a run completes; without a client certificate they cannot start', async () => {
    const e = env();
    const tls = makeCerts(path.join(e.runDir, 'tls'));
    temporal = await ownPostgresTemporal('tls', tls);
    const settings = { TEMPORAL_ADDRESS: temporal.address, TEMPORAL_TLS_CERT: tls.clientCert, TEMPORAL_TLS_KEY: tls.clientKey, TEMPORAL_TLS_CA: tls.ca, TEMPORAL_TLS_SERVER_NAME: tls.serverName };
    pair = await startPair('tls', { both: settings });
    const s = await setupAgent();
    const client = new Api(s.api.key, `http://127.0.0.1:${pair.port}`);
    s.llm.reply({ text: 'Over mutual TLS.' });
    const run = (await client.post('/v1/runs', { agent: 'assistant', input: 'hello' })).body;
    expect((await waitForStatus(client, run.id, ['completed', 'failed'], 60_000)).output_text).toBe('Over mutual TLS.');
    await s.llm.close();

    // The server really requires the certificate: a process with only the CA (TLS, no client cert) and
    // one without TLS both fail at start, naming no secret.
    for (const [name, extra] of [['no-client-cert', { TEMPORAL_TLS_CA: tls.ca, TEMPORAL_TLS_SERVER_NAME: tls.serverName }], ['plaintext', {}]] as const) {
      const p = spawnAp(['api'], { ...pair.base, TEMPORAL_TLS_CERT: '', TEMPORAL_TLS_KEY: '', TEMPORAL_TLS_CA: '', TEMPORAL_TLS_SERVER_NAME: '', ...extra, AP_PORT: '0' }, path.join(e.logDir, `tls-${name}.log`));
      await expect(p.ready, name).rejects.toThrow(/exited with/);
      expect(p.child.exitCode, name).not.toBe(0);
    }
    console.log(`[tls] Temporal server with frontend mTLS on ${temporal.address}: run completed through TEMPORAL_TLS_CERT/KEY/CA/SERVER_NAME; without a client certificate and without TLS the API does not start`);
  });
});
