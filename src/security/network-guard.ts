// The private-network (SSRF) guard: outbound calls to model providers, http tools and webhooks may not
// reach loopback, private or link-local addresses unless AP_ALLOW_PRIVATE_NETWORK is set. The check is
// on the resolved address, not on the URL string, and at connect time it runs inside the connection's own
// lookup: the address checked is the address connected to (a second resolution could be rebound).
import dns from 'node:dns/promises';
import net from 'node:net';
import { Agent, buildConnector, fetch, type Dispatcher, type RequestInit, type Response } from 'undici';
import { outboundUrlProblem } from '../domain/url';
import { isPrivateAddress } from './address-ranges';

export { isPrivateAddress };

export class PrivateNetworkError extends Error {
  readonly code = 'private_network_blocked';
}

// One message for every refusal: naming the host or the address it resolved to would tell a tenant what
// the platform's internal names resolve to (a map of the private network, one probe at a time).
const REFUSED = 'Refusing to connect: the host resolves to a private or loopback address (AP_ALLOW_PRIVATE_NETWORK is not set)';

interface Resolved {
  address: string;
  family: 4 | 6;
}

// AP_DNS_SERVERS: the process's name servers for the guard (set once at start by the ap command, because the
// save-time checks receive only the allow-private flag). Unset: the system resolver (dns.lookup).
let resolver: dns.Resolver | undefined;

export function useDnsServers(servers: string[] | undefined): void {
  resolver = undefined;
  if (!servers?.length) return;
  resolver = new dns.Resolver({ timeout: 5000, tries: 2 });
  resolver.setServers(servers);
}

async function resolveHost(host: string): Promise<Resolved[]> {
  const family = net.isIP(host);
  if (family) return [{ address: host, family: family as 4 | 6 }];
  if (!resolver) return (await dns.lookup(host, { all: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
  if (v4.status === 'rejected' && v6.status === 'rejected') throw v4.reason;
  return [
    ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 as const })) : []),
    ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 as const })) : []),
  ];
}

/** Every address of the host; PrivateNetworkError when any of them is private, or there is none. */
async function checkedAddresses(host: string, allowPrivate: boolean): Promise<Resolved[]> {
  const addresses = await resolveHost(host);
  if (!allowPrivate && (addresses.length === 0 || addresses.some((a) => isPrivateAddress(a.address)))) {
    throw new PrivateNetworkError(REFUSED);
  }
  return addresses;
}

/** The check when a URL is saved; the connection made later checks again (see guardedFetch). */
export async function assertPublicUrl(url: string, allowPrivate: boolean): Promise<void> {
  if (allowPrivate) return;
  await checkedAddresses(new URL(url).hostname.replace(/^\[|\]$/g, ''), false);
}

/** The socket's lookup: resolves once, checks, and hands exactly the checked addresses to the socket. */
function guardedLookup(allowPrivate: boolean): net.LookupFunction {
  return (hostname, options, callback) => {
    checkedAddresses(hostname, allowPrivate).then(
      (all) => {
        const want = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0;
        const addresses = want ? all.filter((a) => a.family === want) : all;
        const first = addresses[0];
        if (!first) callback(Object.assign(new Error(`The host has no IPv${want} address`), { code: 'ENOTFOUND' }), '', 0);
        else if (options.all) callback(null, addresses);
        else callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}

/** An undici dispatcher whose every connection goes to an address the guard checked in that connection. */
function guardedDispatcher(allowPrivate: boolean): Dispatcher {
  if (allowPrivate && !resolver) return new Agent();
  const connect = buildConnector({ lookup: guardedLookup(allowPrivate) });
  return new Agent({
    connect: (opts, callback) => {
      // An IP literal never reaches the lookup: it is checked here.
      const host = opts.hostname.replace(/^\[|\]$/g, '');
      if (!allowPrivate && net.isIP(host) && isPrivateAddress(host)) {
        callback(new PrivateNetworkError(REFUSED), null);
        return;
      }
      connect(opts, callback);
    },
  });
}

export type GuardedFetch = (url: string | URL, init: Omit<RequestInit, 'dispatcher' | 'redirect'>) => Promise<Response>;

/**
 * fetch for every outbound call (model providers, http tools, webhooks): connections only to checked
 * addresses, redirects never followed (a 3xx is returned as it is, for the caller to refuse), and only
 * https: (http: with the setting) whatever the URL's saver was allowed: fetch itself would also read data:.
 */
export function guardedFetch(allowPrivate: boolean): GuardedFetch {
  const dispatcher = guardedDispatcher(allowPrivate);
  return async (url, init) => {
    const problem = outboundUrlProblem(url, allowPrivate);
    if (problem) throw new PrivateNetworkError(`Refusing to connect: the URL ${problem}`);
    return fetch(url, { ...init, redirect: 'manual', dispatcher });
  };
}

const shared = new Map<boolean, GuardedFetch>();

/**
 * One guarded fetch per setting for the calls an API process makes itself (embeddings, the model-card
 * probe), made on first use, so that its connections are reused between calls. Made after useDnsServers.
 */
export function sharedGuardedFetch(allowPrivate: boolean): GuardedFetch {
  let f = shared.get(allowPrivate);
  if (!f) shared.set(allowPrivate, (f = guardedFetch(allowPrivate)));
  return f;
}

/** The guard's refusal behind a failed fetch (undici reports it as the cause of "fetch failed"). */
export function privateNetworkCause(err: unknown): PrivateNetworkError | undefined {
  for (let e = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof PrivateNetworkError) return e;
  }
  return undefined;
}
