// The private-network guard's classification over the IANA special-purpose registries, and the one rule
// for outbound URL schemes (src/domain/url.ts).
import { describe, expect, it } from 'vitest';
import { assertPublicUrl, guardedFetch, isPrivateAddress, PrivateNetworkError } from '../../src/security/network-guard';
import { outboundUrlProblem, outboundUrlSchema } from '../../src/domain/url';

const REFUSED: [string, string][] = [
  ['0.0.0.0', 'this network'],
  ['0.1.2.3', 'this network'],
  ['10.255.0.1', 'private'],
  ['100.64.0.1', 'shared (CGN)'],
  ['100.127.255.254', 'shared (CGN)'],
  ['127.0.0.1', 'loopback'],
  ['127.1.2.3', 'loopback'],
  ['169.254.169.254', 'link-local metadata'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.0.0.170', 'NAT64 discovery'],
  ['192.0.2.10', 'TEST-NET-1'],
  ['192.88.99.1', '6to4 relay anycast'],
  ['192.168.1.1', 'private'],
  ['198.18.0.1', 'benchmarking'],
  ['198.19.255.255', 'benchmarking'],
  ['198.51.100.7', 'TEST-NET-2'],
  ['203.0.113.9', 'TEST-NET-3'],
  ['224.0.0.251', 'multicast'],
  ['240.0.0.1', 'reserved'],
  ['255.255.255.255', 'broadcast'],
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback, long form'],
  ['::ffff:127.0.0.1', 'v4-mapped loopback'],
  ['::ffff:7f00:1', 'v4-mapped loopback, hex'],
  ['::ffff:a9fe:a9fe', 'v4-mapped metadata'],
  ['::ffff:c612:1', 'v4-mapped benchmarking'],
  ['::127.0.0.1', 'v4-compatible loopback'],
  ['::a00:1', 'v4-compatible private'],
  ['64:ff9b::a00:1', 'NAT64 of 10.0.0.1'],
  ['64:ff9b::7f00:1', 'NAT64 of loopback'],
  ['64:ff9b:1::808:808', 'local-use NAT64 (RFC 8215)'],
  ['64:FF9B:1:0:0:0:0:1', 'local-use NAT64, upper case'],
  ['2002:7f00:1::1', '6to4 of loopback'],
  ['2002:a00:1::', '6to4 of 10.0.0.1'],
  ['2002:a9fe:a9fe::1', '6to4 of the metadata address'],
  ['100::1', 'discard-only'],
  ['2001::1', 'Teredo'],
  ['2001:2::1', 'benchmarking'],
  ['2001:db8::1', 'documentation'],
  ['3fff::1', 'documentation'],
  ['5f00::1', 'SRv6'],
  ['fc00::1', 'unique-local'],
  ['fd12:3456::1', 'unique-local'],
  ['fe80::1', 'link-local'],
  ['febf::1', 'link-local'],
  ['fec0::1', 'site-local (deprecated)'],
  ['feff::1', 'site-local (deprecated)'],
  ['ff02::1', 'multicast'],
  ['4000::1', 'outside global unicast'],
  ['localhost', 'not an address'],
  ['', 'not an address'],
];

const ALLOWED = ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '198.20.0.1', '192.0.3.1', '223.255.255.254', '2606:4700::1111', '2a00:1450::1', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1'];

describe('private-network guard: address classification', () => {
  it.each(REFUSED)('%s is refused (%s)', (ip) => {
    expect(isPrivateAddress(ip)).toBe(true);
  });
  it.each(ALLOWED)('%s is public', (ip) => {
    expect(isPrivateAddress(ip)).toBe(false);
  });

  it('refuses with one message that names neither the host nor its address', async () => {
    for (const url of ['http://localhost:8080/x', 'https://[fec0::1]/', 'https://198.18.0.1/', 'https://[64:ff9b:1::1]/']) {
      const err: unknown = await assertPublicUrl(url, false).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PrivateNetworkError);
      expect((err as Error).message).toMatch(/private or loopback/);
      expect((err as Error).message).not.toMatch(/localhost|fec0|198\.18|64:ff9b|127\.0\.0\.1|::1/);
    }
  });
});

describe('outbound URL schemes', () => {
  it.each(['file:///etc/passwd', 'gopher://example.com/', 'data:text/plain,hi', 'ftp://example.com/x', 'javascript:alert(1)', 'ws://example.com/'])(
    'the schema refuses %s',
    (url) => {
      expect(outboundUrlSchema.safeParse(url).success).toBe(false);
    },
  );

  it('http only with the private-network setting; https always', () => {
    expect(outboundUrlProblem('https://example.com/v1', false)).toBeUndefined();
    expect(outboundUrlProblem('HTTPS://example.com/v1', false)).toBeUndefined();
    expect(outboundUrlProblem('http://example.com/v1', true)).toBeUndefined();
    expect(outboundUrlProblem('http://example.com/v1', false)).toMatch(/https/);
    expect(outboundUrlProblem('file:///etc/passwd', true)).toMatch(/https/);
  });

  it('the guarded fetch refuses what the schema would, before any connection (fetch would read data: itself)', async () => {
    const f = guardedFetch(true);
    await expect(f('data:text/plain,secret', { method: 'GET' })).rejects.toBeInstanceOf(PrivateNetworkError);
    await expect(f('file:///etc/passwd', { method: 'GET' })).rejects.toBeInstanceOf(PrivateNetworkError);
    await expect(guardedFetch(false)('http://example.com/', { method: 'GET' })).rejects.toThrow(/https/);
  });
});
