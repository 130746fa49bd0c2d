// docker-compose.yml is for users (Docker does not run here): it must be a valid Compose file with the
// documented topology. Rendered as Compose renders it (test/support/compose.ts: YAML with anchors and
// merge keys, the specification's interpolation, validated against its JSON Schema), so no Docker or
// docker-compose binary is needed (issue 19).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEV_SERVER_TUNING } from '../../src/temporal/dev-server';
import { ComposeError, interpolate, renderCompose } from '../support/compose';

const ROOT = path.resolve(__dirname, '../..');
const FILE = path.join(ROOT, 'docker-compose.yml');
const KEY = Buffer.alloc(32, 7).toString('base64');
const render = (env: Record<string, string>) => renderCompose(FILE, env);
const hostIps = (s: { ports: { host_ip: string }[] }) => s.ports.map((p) => p.host_ip);

describe('docker-compose.yml', () => {
  it('is a valid Compose file and runs PostgreSQL, Temporal, its UI, 2 API and 2 worker replicas', () => {
    const { services } = render({ AP_MASTER_KEY: KEY });
    expect(Object.keys(services).sort()).toEqual(['api', 'migrate', 'postgres', 'temporal', 'temporal-ui', 'worker']);
    expect(services.api!.deploy?.replicas).toBe(2);
    expect(services.worker!.deploy?.replicas).toBe(2);
    expect(services.temporal!.image).toBe('temporalio/auto-setup:1.29.1');
    for (const name of ['api', 'worker', 'migrate']) {
      expect(services[name]!.environment).toMatchObject({ TEMPORAL_ADDRESS: 'temporal:7233', AP_MASTER_KEY: KEY, AP_ADMIN_KEY: '' });
    }
    expect(services['temporal-ui']!.environment.TEMPORAL_CODEC_ENDPOINT).toBe('http://localhost:8080/codec');
    // Health checks: PostgreSQL, Temporal, the API's /readyz and the workers' heartbeat file.
    expect(Object.entries(services).filter(([, s]) => s.healthcheck).map(([n]) => n).sort()).toEqual(['api', 'postgres', 'temporal', 'worker']);
    expect(services.worker!.environment.AP_WORKER_HEALTH_FILE).toBe('/tmp/ap-worker-healthy');
    // `$$` is a literal `$` for the container's shell.
    expect(JSON.stringify(services.temporal!.healthcheck!.test)).toContain('--address $(hostname -i):7233');
  });

  it('publishes nothing beyond 127.0.0.1: no PostgreSQL or Temporal frontend port, and a read-only Web UI', () => {
    const { services } = render({ AP_MASTER_KEY: KEY });
    // Every tenant's data and an unauthenticated signal door: reachable only inside the compose network.
    expect(services.postgres!.ports).toEqual([]);
    expect(services.temporal!.ports).toEqual([]);
    expect(hostIps(services['temporal-ui']!)).toEqual(['127.0.0.1']);
    expect(services.api!.ports).toEqual([{ host_ip: '127.0.0.1', published: '8080-8081', target: 8080, protocol: 'tcp' }]);
    for (const [name, s] of Object.entries(services)) for (const ip of hostIps(s)) expect(ip, `${name} publishes on ${ip || 'every interface'}`).toBe('127.0.0.1');
    // The UI cannot signal, cancel, reset or terminate workflows (item 4 of issue 17: Temporal is a side door).
    expect(services['temporal-ui']!.environment.TEMPORAL_DISABLE_WRITE_ACTIONS).toBe('true');
  });

  it('publishes the API on another address only when AP_BIND_ADDRESS says so', () => {
    const { services } = render({ AP_MASTER_KEY: KEY, AP_BIND_ADDRESS: '0.0.0.0' });
    expect(hostIps(services.api!)).toEqual(['0.0.0.0']);
    expect(hostIps(services['temporal-ui']!)).toEqual(['127.0.0.1']);
  });

  it('refuses to render without AP_MASTER_KEY, or with it empty', () => {
    for (const env of [{}, { AP_MASTER_KEY: '' }] as Record<string, string>[]) {
      expect(() => render(env)).toThrow(ComposeError);
      expect(() => render(env)).toThrow(/AP_MASTER_KEY/);
    }
  });

  it('gives its Temporal server the dynamic config of the embedded one: no dispatch throttle, eager activities', () => {
    const temporal = render({ AP_MASTER_KEY: KEY }).services.temporal!;
    const file = temporal.environment.DYNAMIC_CONFIG_FILE_PATH;
    expect(file).toBeDefined();
    // The file mounted at that path, from this repository, read-only.
    const mount = temporal.volumes.find((v) => v.target === file);
    expect(mount).toMatchObject({ type: 'bind', source: path.join(ROOT, 'deploy', 'temporal-dynamic-config.yaml'), read_only: true });
    const values = Object.fromEntries([...fs.readFileSync(mount!.source, 'utf8').matchAll(/^([\w.]+):\n\s+- value: (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
    // The image's own two values, which the file replaces, and the embedded server's tuning.
    expect(values).toEqual({ 'limit.maxIDLength': '255', 'system.forceSearchAttributesCacheRefreshOnRead': 'true', ...DEV_SERVER_TUNING });
    // The PostgreSQL-backed test server runs with the same values.
    const tested = fs.readFileSync(path.join(ROOT, 'test', 'temporal-postgres', 'dynamicconfig.yaml'), 'utf8');
    for (const [key, value] of Object.entries(DEV_SERVER_TUNING)) expect(tested).toMatch(new RegExp(`^${key.replace(/\./g, '\\.')}:\\n\\s+- value: ${value}$`, 'm'));
  });
});

describe('the Compose rendering this test relies on', () => {
  it('interpolates as the Compose specification says', () => {
    const env = { SET: 'x', EMPTY: '' };
    expect(interpolate('$SET ${SET} $$SET $${SET}', env)).toBe('x x $SET ${SET}');
    expect(interpolate('${UNSET:-d} ${EMPTY:-d} ${EMPTY-d} ${UNSET-d} ${SET:-d}', env)).toBe('d d  d x');
    expect(interpolate('${SET:+alt} ${EMPTY:+alt} ${EMPTY+alt} ${UNSET+alt}', env)).toBe('alt  alt ');
    expect(interpolate('${UNSET:-${SET}}', env)).toBe('x');
    expect(() => interpolate('${UNSET:?needed here}', env)).toThrow('required variable UNSET is missing a value: needed here');
    expect(() => interpolate('${EMPTY:?no}', env)).toThrow(ComposeError);
    expect(interpolate('${EMPTY?no}', env)).toBe('');
    expect(() => interpolate('${SET', env)).toThrow(ComposeError);
    expect(() => interpolate('${1X}', env)).toThrow(ComposeError);
  });

  it('rejects a file the Compose specification rejects', () => {
    const dir = fs.mkdtempSync(path.join(ROOT, '.test-data', 'compose-'));
    try {
      const bad = path.join(dir, 'docker-compose.yml');
      fs.writeFileSync(bad, 'services:\n  api:\n    image: x\n    ports: ["not a port"]\n    restart_policy: always\n');
      expect(() => renderCompose(bad, {})).toThrow(/does not match the Compose specification/);
      fs.writeFileSync(bad, 'services:\n  api:\n    image: x\n    ports: ["127.0.0.1:80:8080", "9000:90/udp"]\n    healthcheck: { test: ["CMD", "true"], interval: 10s }\n');
      expect(renderCompose(bad, {}).services.api!.ports).toEqual([
        { host_ip: '127.0.0.1', published: '80', target: 8080, protocol: 'tcp' },
        { host_ip: '', published: '9000', target: 90, protocol: 'udp' },
      ]);
      fs.writeFileSync(bad, 'services:\n  api:\n    image: x\n    healthcheck: { test: ["CMD", "true"], interval: ten }\n');
      expect(() => renderCompose(bad, {})).toThrow(/does not match the Compose specification/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
