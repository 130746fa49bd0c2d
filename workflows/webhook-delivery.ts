// One webhook delivery: attempts with exponential backoff and jitter on durable timers, so a restart
// of every process loses nothing. The webhook-id is the same for every attempt; each attempt is signed
// afresh with its own timestamp.
import { proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DeliveryAttemptResult } from '../src/domain/webhook';
import type { WebhookDeliveryInput } from './definitions';

const { attemptDelivery } = proxyActivities<Activities>({
  startToCloseTimeout: '60s',
  // Unbounded: a database outage must delay a delivery, never drop it.
  retry: { initialInterval: '2s', maximumInterval: '5m', backoffCoefficient: 2 },
});

export async function webhookDeliveryWorkflow({ delivery_id, schedule_seconds }: WebhookDeliveryInput): Promise<DeliveryAttemptResult['outcome'] | 'failed'> {
  for (let attempt = 1; ; attempt++) {
    const delay = schedule_seconds[attempt - 1];
    // Up to +20 % jitter (the sandbox's Math.random is deterministic), so that retries of many deliveries
    // spread out; only upward, so the schedule never sums to less than its 24 h.
    const waitMs = delay === undefined ? undefined : Math.round(delay * 1000 * (1 + Math.random() * 0.2));
    const nextAt = waitMs === undefined ? null : new Date(Date.now() + waitMs).toISOString();
    const result = await attemptDelivery(delivery_id, attempt, nextAt);
    if (result.outcome !== 'retry') return result.outcome;
    if (waitMs === undefined) return 'failed';
    await sleep(waitMs);
  }
}
