// Standard Webhooks signatures: base64(HMAC-SHA256(secret, "<id>.<timestamp>.<body>")), where the
// secret is the base64 part of `whsec_...`. Several secrets (during a rotation) give several signatures.
import crypto from 'node:crypto';

export const newWebhookSecret = (): string => `whsec_${crypto.randomBytes(24).toString('base64')}`;

export function signWebhook(secrets: string[], id: string, timestampSeconds: number, body: string): string {
  return secrets
    .map((s) => {
      const key = Buffer.from(s.replace(/^whsec_/, ''), 'base64');
      return `v1,${crypto.createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
    })
    .join(' ');
}
