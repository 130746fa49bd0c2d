// docker-compose.yml is for users (Docker does not run here): it must at least be a valid Compose file
// with the documented topology. `.ci/run` installs docker-compose for this check.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEV_SERVER_TUNING } from '../../src/temporal/dev-server';

const ROOT = path.resolve(__dirname, '../..');
const compose = (env: Record<string, string>) =>
  spawnSync('docker-compose', ['-f', path.join(ROOT, 'docker-compose.yml'), 'config'], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });

/** Each service's block of `docker-compose config` output (services are indented by two spaces). */
function services(rendered: string): Map<string, string> {
  const body = rendered.split(/^services:\n/m)[1]!.split(/^\S/m)[0]!;
  return new Map([...body.matchAll(/^  ([\w-]+):\n((?:(?: {4}.*)?\n)*)/gm)].map((m) => [m[1]!, m[2]!]));
}

/** The host addresses a service's published ports listen on (short and long `ports:` syntax). */
function hostIps(service: string): string[] {
  const ports = /^ {4}ports:\n((?: {4}[- ] .*\n)*)/m.exec(service)?.[1] ?? '';
  const short = [...ports.matchAll(/^ {4}- (?:"|')?([^:\s]+):\d[\d-]*:\d+/gm)].map((m) => m[1]!);
  const long = [...ports.matchAll(/host_ip: (\S+)/g)].map((m) => m[1]!);
  const entries = [...ports.matchAll(/^ {4}- /gm)].length;
  // An entry without a host address (published on every interface) shows as ''.
  return [...short, ...long, ...Array<string>(Math.max(0, entries - short.length - long.length)).fill('')];
}

describe('docker-compose.yml', () => {
  it('validates with docker-compose config and runs PostgreSQL, Temporal, its UI, 2 API and 2 worker replicas', () => {
    const res = compose({ AP_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') });
    expect(res.error, 'docker-compose must be installed (.ci/run installs it)').toBeUndefined();
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    for (const service of ['postgres:', 'temporal:', 'temporal-ui:', 'api:', 'worker:', 'migrate:']) expect(res.stdout).toContain(`  ${service}`);
    expect(res.stdout.match(/replicas: 2/g)).toHaveLength(2);
    expect(res.stdout).toContain('image: temporalio/auto-setup:1.29.1');
    expect(res.stdout).toContain('TEMPORAL_ADDRESS: temporal:7233');
    expect(res.stdout).toContain('TEMPORAL_CODEC_ENDPOINT: http://localhost:8080/codec');
    // Health checks: PostgreSQL, Temporal, the API's /readyz and the workers' heartbeat file.
    expect(res.stdout.match(/healthcheck:/g)).toHaveLength(4);
    expect(res.stdout).toContain('AP_WORKER_HEALTH_FILE: /tmp/ap-worker-healthy');
  });

  it('publishes nothing beyond 127.0.0.1: no PostgreSQL or Temporal frontend port, and a read-only Web UI', () => {
    const res = compose({ AP_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') });
    expect(res.status).toBe(0);
    const svc = services(res.stdout);
    expect([...svc.keys()].sort()).toEqual(['api', 'migrate', 'postgres', 'temporal', 'temporal-ui', 'worker']);
    // Every tenant's data and an unauthenticated signal door: reachable only inside the compose network.
    expect(hostIps(svc.get('postgres')!)).toEqual([]);
    expect(hostIps(svc.get('temporal')!)).toEqual([]);
    expect(svc.get('temporal')!).not.toMatch(/^ {4}ports:/m);
    expect(svc.get('postgres')!).not.toMatch(/^ {4}ports:/m);
    expect(hostIps(svc.get('temporal-ui')!)).toEqual(['127.0.0.1']);
    expect(hostIps(svc.get('api')!)).toEqual(['127.0.0.1']);
    for (const [name, block] of svc) for (const ip of hostIps(block)) expect(ip, `${name} publishes on ${ip || 'every interface'}`).toBe('127.0.0.1');
    // The UI cannot signal, cancel, reset or terminate workflows (item 4 of issue 17: Temporal is a side door).
    expect(svc.get('temporal-ui')!).toMatch(/TEMPORAL_DISABLE_WRITE_ACTIONS: "?true"?/);
  });

  it('publishes the API on another address only when AP_BIND_ADDRESS says so', () => {
    const res = compose({ AP_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'), AP_BIND_ADDRESS: '0.0.0.0' });
    expect(res.status).toBe(0);
    const svc = services(res.stdout);
    expect(hostIps(svc.get('api')!)).toEqual(['0.0.0.0']);
    expect(hostIps(svc.get('temporal-ui')!)).toEqual(['127.0.0.1']);
  });

  it('refuses to render without AP_MASTER_KEY', () => {
    const res = compose({});
    expect(res.status).not.toBe(0);
    expect(res.stderr).toContain('AP_MASTER_KEY');
  });

  it("gives its Temporal server the dynamic config of the embedded one: no dispatch throttle, eager activities", () => {
    const res = compose({ AP_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') });
    expect(res.status).toBe(0);
    const temporal = services(res.stdout).get('temporal')!;
    const file = /DYNAMIC_CONFIG_FILE_PATH: (\S+)/.exec(temporal)?.[1];
    expect(file).toBeDefined();
    // The file mounted at that path, from this repository (short or long volume syntax).
    const source = new RegExp(`- (\\S+):${file}(?::ro)?$`, 'm').exec(temporal)?.[1] ?? new RegExp(`source: (\\S+)\\n\\s+target: ${file}`).exec(temporal)?.[1];
    expect(source).toBe(path.join(ROOT, 'deploy', 'temporal-dynamic-config.yaml'));
    const values = Object.fromEntries([...fs.readFileSync(source!, 'utf8').matchAll(/^([\w.]+):\n\s+- value: (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
    // The image's own two values, which the file replaces, and the embedded server's tuning.
    expect(values).toEqual({ 'limit.maxIDLength': '255', 'system.forceSearchAttributesCacheRefreshOnRead': 'true', ...DEV_SERVER_TUNING });
    // The PostgreSQL-backed test server runs with the same values.
    const tested = fs.readFileSync(path.join(ROOT, 'test', 'temporal-postgres', 'dynamicconfig.yaml'), 'utf8');
    for (const [key, value] of Object.entries(DEV_SERVER_TUNING)) expect(tested).toMatch(new RegExp(`^${key.replace(/\./g, '\\.')}:\\n\\s+- value: ${value}$`, 'm'));
  });
});
