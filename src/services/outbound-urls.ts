// Outbound URLs a tenant saves (model card base URLs, http tools, webhooks, OAuth connections, environment
// overrides): a scheme or address refused when saved is `validation_failed` or `private_network_blocked` naming the field.
import { PlatformError } from '../domain/errors';
import { assertPublicUrl, PrivateNetworkError } from '../security/network-guard';
import { outboundUrlProblem } from '../domain/url';

/** Outbound URLs are checked when saved (and again, on the resolved address, when connected to). */
export async function checkOutbound(url: string, allowPrivate: boolean, param: string): Promise<void> {
  const problem = outboundUrlProblem(url, allowPrivate);
  if (problem) throw new PlatformError('validation_failed', `${param} ${problem}`, param);
  try {
    await assertPublicUrl(url, allowPrivate);
  } catch (err) {
    if (err instanceof PrivateNetworkError) throw new PlatformError('private_network_blocked', err.message, param);
    // A name that does not resolve now may resolve later; the check at connect time still applies.
  }
}
