// docker-compose.yml is for users (Docker does not run here): it must at least be a valid Compose file
// with the documented topology. `.ci/run` installs docker-compose for this check.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const compose = (env: Record<string, string>) =>
  spawnSync('docker-compose', ['-f', path.join(ROOT, 'docker-compose.yml'), 'config'], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });

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

  it('refuses to render without AP_MASTER_KEY', () => {
    const res = compose({});
    expect(res.status).not.toBe(0);
    expect(res.stderr).toContain('AP_MASTER_KEY');
  });
});
