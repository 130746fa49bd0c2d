// The private-network (SSRF) guard: outbound calls to model providers, http tools and webhooks may not
// reach loopback, private or link-local addresses unless AP_ALLOW_PRIVATE_NETWORK is set. The check is
// on the resolved address, not on the URL string.
import dns from 'node:dns/promises';
import net from 'node:net';

export class PrivateNetworkError extends Error {
  readonly code = 'private_network_blocked';
}

function isPrivateV4(ip: string): boolean {
  const [a = 0, b = 0] = ip.split('.').map(Number);
  return (
    a === 0 || a === 10 || a === 127 || (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || a >= 224
  );
}

/** IPv4 embedded in IPv6 (mapped ::ffff:a.b.c.d or ::ffff:XXXX:XXXX, compatible ::a.b.c.d, NAT64 64:ff9b::/96). */
function embeddedV4(lower: string): string | undefined {
  const m = lower.match(/^(?:::ffff:|::|64:ff9b::)(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/);
  if (!m) return undefined;
  if (m[1]) return m[1];
  const hi = parseInt(m[2]!, 16);
  const lo = parseInt(m[3]!, 16);
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
}

export function isPrivateAddress(ip: string): boolean {
  if (net.isIPv4(ip)) return isPrivateV4(ip);
  const lower = ip.toLowerCase();
  const v4 = embeddedV4(lower);
  if (v4) return isPrivateV4(v4);
  return lower === '::' || lower === '::1' || /^f[cd]/.test(lower) || /^fe[89ab]/.test(lower) || lower.startsWith('ff');
}

export async function assertPublicUrl(url: string, allowPrivate: boolean): Promise<void> {
  if (allowPrivate) return;
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  const addresses = net.isIP(host) ? [host] : (await dns.lookup(host, { all: true })).map((a) => a.address);
  if (addresses.length === 0 || addresses.some(isPrivateAddress)) {
    throw new PrivateNetworkError(`Refusing to connect to ${host}: it resolves to a private or loopback address`);
  }
}
