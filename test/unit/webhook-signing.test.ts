// Our Standard Webhooks signer against the specification's test vector and the official library.
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { newWebhookSecret, signWebhook } from '../../src/security/webhook-signing';

describe('webhook signatures', () => {
  it('match the Standard Webhooks test vector', () => {
    expect(signWebhook(['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
  });

  it('verify with the official library, with either secret during a rotation', () => {
    const [oldSecret, newSecret] = [newWebhookSecret(), newWebhookSecret()];
    const ts = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ type: 'run.completed', timestamp: new Date().toISOString(), data: {} });
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(ts), 'webhook-signature': signWebhook([newSecret, oldSecret], 'msg_1', ts, body) };
    expect(new Webhook(newSecret).verify(body, headers)).toMatchObject({ type: 'run.completed' });
    expect(new Webhook(oldSecret).verify(body, headers)).toMatchObject({ type: 'run.completed' });
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(newSecret).verify(body.replace('completed', 'failed'), headers)).toThrow();
  });
});
