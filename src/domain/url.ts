// Outbound URLs configured by a tenant (model cards and so embeddings, http tools and their environment
// overrides, webhooks, OAuth endpoints of connections): the one rule for their scheme, in two halves.
// - The schema accepts http: and https: only (file:, data:, gopher:, ftp:, javascript: ... are 400 with the
//   field named), whatever the configuration: it is pure, so the same schema serves the API, the OpenAPI
//   document and the workflow bundle.
// - outboundUrlProblem() adds what depends on the private-network setting: http: only where
//   AP_ALLOW_PRIVATE_NETWORK is set. The services call it when a URL is saved (400 validation_failed) and
//   the guarded fetch (security/network-guard.ts) calls it again on every request, because the process
//   that saved a URL may have had the setting and the worker that calls it may not.
import { z } from 'zod';

export const OUTBOUND_URL_MESSAGE = 'must be an https URL (http only where private networks are allowed)';

/** An http(s) URL of at most 2048 characters; see outboundUrlProblem for the rest of the rule. */
export const outboundUrlSchema = z.url({ protocol: /^https?$/, error: OUTBOUND_URL_MESSAGE }).max(2048);

/**
 * Why the URL may not be called with this setting, or undefined when it may: only https:, and http: when
 * private networks are allowed (a development or test setting: plain http crosses networks unprotected).
 */
export function outboundUrlProblem(url: string | URL, allowPrivate: boolean): string | undefined {
  let protocol: string;
  try {
    protocol = (typeof url === 'string' ? new URL(url) : url).protocol;
  } catch {
    return 'must be a valid URL';
  }
  if (protocol === 'https:') return undefined;
  if (protocol === 'http:') return allowPrivate ? undefined : 'must be https (http only with AP_ALLOW_PRIVATE_NETWORK)';
  return OUTBOUND_URL_MESSAGE;
}
