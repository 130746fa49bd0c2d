// Which addresses the private-network guard refuses: every block of the IANA IPv4 and IPv6
// special-purpose address registries that is not globally reachable, plus multicast and what is not
// allocated for global unicast. Addresses are parsed (ipaddr.js) and matched as numbers, never as strings,
// and an IPv6 address that carries an IPv4 address (mapped, compatible, NAT64, 6to4) is judged by it.
import net from 'node:net';
import ipaddr from 'ipaddr.js';

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];
const cidrs = (list: string[]): Cidr[] => list.map((c) => ipaddr.parseCIDR(c));

/** IANA IPv4 special-purpose registry, the blocks not globally reachable; multicast and 240/4 too. */
const BLOCKED_V4 = cidrs([
  '0.0.0.0/8', // "this network"
  '10.0.0.0/8', // private
  '100.64.0.0/10', // shared address space (carrier-grade NAT)
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local (cloud metadata services)
  '172.16.0.0/12', // private
  '192.0.0.0/24', // IETF protocol assignments (DS-Lite, NAT64 discovery, ...)
  '192.0.2.0/24', // documentation (TEST-NET-1)
  '192.88.99.0/24', // deprecated 6to4 relay anycast
  '192.168.0.0/16', // private
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24', // documentation (TEST-NET-2)
  '203.0.113.0/24', // documentation (TEST-NET-3)
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, and 255.255.255.255 (limited broadcast)
]);

/**
 * IPv6: global unicast is 2000::/3, everything else (::/8 apart from the IPv4 forms below, 100::/64
 * discard, fc00::/7 unique-local, fe80::/10 link-local, fec0::/10 deprecated site-local, ff00::/8
 * multicast, 64:ff9b:1::/48 local-use NAT64, ...) is refused; inside 2000::/3, these registry blocks are.
 */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');
const BLOCKED_V6 = cidrs([
  '2001::/23', // IETF protocol assignments: Teredo, benchmarking, ORCHID, ... (a few anycast services too)
  '2001:db8::/32', // documentation
  '3fff::/20', // documentation
  '5f00::/16', // SRv6 segment identifiers
]);

/** The IPv4 address an IPv6 address stands for, when it is one of the forms that carries one. */
function embeddedV4(v6: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const w = v6.parts;
  const v4 = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 255, lo >> 8, lo & 255]);
  const zero = (from: number, to: number) => w.slice(from, to).every((x) => x === 0);
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated) — :: and ::1 themselves are not v4.
  if (zero(0, 5) && w[5] === 0xffff) return v4(w[6]!, w[7]!);
  if (zero(0, 6) && (w[6] !== 0 || w[7]! > 1)) return v4(w[6]!, w[7]!);
  // 64:ff9b::a.b.c.d, the well-known NAT64 prefix (RFC 6052).
  if (w[0] === 0x64 && w[1] === 0xff9b && zero(2, 6)) return v4(w[6]!, w[7]!);
  // 2002:AABB:CCDD::/48, 6to4 (RFC 3056): the relay forwards to the IPv4 address in bits 16-47.
  if (w[0] === 0x2002) return v4(w[1]!, w[2]!);
  return undefined;
}

const inAny = (a: ipaddr.IPv4 | ipaddr.IPv6, list: Cidr[]) => list.some((c) => a.kind() === c[0].kind() && a.match(c));

function blockedV4(a: ipaddr.IPv4): boolean {
  return inAny(a, BLOCKED_V4);
}

/** True for every address the guard refuses; anything that does not parse as one address is refused too. */
export function isPrivateAddress(ip: string): boolean {
  if (!net.isIP(ip)) return true;
  let a: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    a = ipaddr.parse(ip);
  } catch {
    return true;
  }
  if (a.kind() === 'ipv4') return blockedV4(a as ipaddr.IPv4);
  const v6 = a as ipaddr.IPv6;
  const v4 = embeddedV4(v6);
  if (v4) return blockedV4(v4);
  return !v6.match(GLOBAL_UNICAST_V6) || inAny(v6, BLOCKED_V6);
}
