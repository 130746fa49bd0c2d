// AP_TRUST_PROXY (issue 17, item 13): which proxies' X-Forwarded-* headers the API believes. Unset, none
// are (anyone could claim https or an address); set, it becomes Express's `trust proxy`.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';

describe('AP_TRUST_PROXY', () => {
  it('trusts no proxy unless told', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ AP_TRUST_PROXY: 'false' }).trustProxy).toBe(false);
  });

  it.each([
    ['true', true],
    ['1', 1],
    ['loopback', 'loopback'],
    ['loopback, 10.0.0.0/8, fd00::/8', 'loopback, 10.0.0.0/8, fd00::/8'],
  ])('%s is passed to Express as %s', (value, expected) => {
    expect(loadConfig({ AP_TRUST_PROXY: value }).trustProxy).toEqual(expected);
  });

  it.each(['*', 'loopback;rm', 'a'.repeat(600)])('%s is rejected naming the variable', (value) => {
    expect(() => loadConfig({ AP_TRUST_PROXY: value })).toThrow(ConfigError);
    expect(() => loadConfig({ AP_TRUST_PROXY: value })).toThrow(/^Invalid configuration: AP_TRUST_PROXY /);
  });
});
