// Configuration: parsed once, defaults as OPERATIONS.md says, one clear line for a bad value.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 8080, databaseUrl: undefined, allowPrivateNetwork: false, logLevel: 'info', temporal: { address: undefined, namespace: 'default', taskQueue: 'agent-platform' } });
    expect(c.dataDir.endsWith('.data')).toBe(true);
  });

  it.each([
    ['AP_PORT', 'http'],
    ['AP_PORT', '70000'],
    ['DATABASE_URL', 'mysql://x'],
    ['TEMPORAL_ADDRESS', 'no-port'],
    ['AP_MASTER_KEY', 'c2hvcnQ='],
    ['AP_ALLOW_PRIVATE_NETWORK', 'maybe'],
    ['LOG_LEVEL', 'loud'],
    ['AP_ADMIN_KEY', 'sk_wrong'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318'],
  ])('%s=%s is rejected naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^Invalid configuration: ${name} `));
  });

  it('turns tracing on only when an OTLP endpoint is given', () => {
    expect(loadConfig({}).tracing).toEqual({ endpoint: undefined, serviceName: undefined });
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SERVICE_NAME: 'ap-eu' }).tracing).toEqual({ endpoint: 'http://collector:4318', serviceName: 'ap-eu' });
  });

  it('requires AP_MASTER_KEY in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/AP_MASTER_KEY/);
    expect(loadConfig({ NODE_ENV: 'production', AP_MASTER_KEY: Buffer.alloc(32).toString('base64') }).production).toBe(true);
  });

  it('Temporal TLS: mTLS needs cert and key, files must exist, every setting needs TEMPORAL_ADDRESS, an API key turns TLS on', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ap-tls-'));
    const pem = path.join(dir, 'client.pem');
    fs.writeFileSync(pem, '-----BEGIN CERTIFICATE-----\n');
    const address = { TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233' };
    expect(() => loadConfig({ ...address, TEMPORAL_TLS_CERT: pem })).toThrow(/^Invalid configuration: TEMPORAL_TLS_KEY is required with TEMPORAL_TLS_CERT/);
    expect(() => loadConfig({ ...address, TEMPORAL_TLS_CA: path.join(dir, 'missing.pem') })).toThrow(/^Invalid configuration: TEMPORAL_TLS_CA must be the path of a readable PEM file/);
    expect(() => loadConfig({ TEMPORAL_API_KEY: 'secret' })).toThrow(/^Invalid configuration: TEMPORAL_API_KEY needs TEMPORAL_ADDRESS/);
    expect(() => loadConfig({ TEMPORAL_TLS: 'true' })).toThrow(/^Invalid configuration: TEMPORAL_TLS needs TEMPORAL_ADDRESS/);
    expect(loadConfig({}).temporal.security).toEqual({ tls: false });
    expect(loadConfig({ ...address, TEMPORAL_TLS_CERT: pem, TEMPORAL_TLS_KEY: pem, TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' }).temporal.security).toEqual({ tls: true, certPath: pem, keyPath: pem, serverName: 'temporal.internal' });
    expect(loadConfig({ ...address, TEMPORAL_API_KEY: 'secret' }).temporal.security).toEqual({ tls: true, apiKey: 'secret' });
    // The key is named in no error message.
    try {
      loadConfig({ TEMPORAL_API_KEY: 'CANARY-SECRET-temporal-key' });
    } catch (err) {
      expect(String(err)).not.toContain('CANARY-SECRET');
    }
  });
});
