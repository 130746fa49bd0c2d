// Webhook deliveries: enqueued in the same transaction as the run events that cause them, each then
// delivered by its own workflow. One attempt = one signed POST; the workflow owns retries and backoff.
import crypto from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Config } from '../src/config';
import type { Queryable } from '../src/db/pool';
import { newId } from '../src/db/ids';
import * as repo from '../src/db/webhooks';
import { DEFAULT_RETRY_SCHEDULE, type DeliveryAttemptResult, type WebhookEventType } from '../src/domain/webhook';
import { guardedFetch, privateNetworkCause } from '../src/security/network-guard';
import { BODY_LIMITS, discardBody } from '../src/security/bounded-body';
import { signWebhook } from '../src/security/webhook-signing';
import type { SecretBox } from '../src/security/secrets';
import { cell } from '../src/db/secret-cells';
import type { ActivityDeps } from './deps';
import { activityLog } from './log';
import { engineOf } from '../src/temporal/engine';

const ATTEMPT_TIMEOUT_MS = 15_000;

export interface WebhookEvent {
  type: WebhookEventType;
  /** Stable per event: the `webhook-id` of every attempt. */
  message_id: string;
  data: unknown;
}

export const messageIdFor = (...parts: (string | number)[]): string =>
  `msg_${crypto.createHash('sha256').update(parts.join(':')).digest('hex').slice(0, 32)}`;

/** Inside the caller's transaction: one delivery row per subscribed endpoint. Returns their ids. */
export async function enqueueWebhooks(q: Queryable, workspaceId: string, events: WebhookEvent[]): Promise<string[]> {
  const ids: string[] = [];
  for (const e of events) {
    for (const endpoint of await repo.subscribers(q, workspaceId, e.type)) {
      const d = await repo.insertDelivery(q, {
        id: newId('dlv'),
        workspace_id: workspaceId,
        endpoint_id: endpoint.id,
        message_id: e.message_id,
        event_type: e.type,
        payload: { type: e.type, timestamp: new Date().toISOString(), data: e.data },
      });
      if (d.status === 'pending' && d.attempts.length === 0) ids.push(d.id);
    }
  }
  return ids;
}

/** After commit: one workflow per delivery, its id the delivery id, so a repeated start is harmless. */
export async function startDeliveries(temporal: Client, config: Config, deliveryIds: string[]): Promise<void> {
  for (const id of deliveryIds) {
    try {
      await engineOf(temporal).startWebhookDelivery(config.temporal.taskQueue, { delivery_id: id, schedule_seconds: config.webhookRetrySchedule ?? DEFAULT_RETRY_SCHEDULE });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
}

function secretsOf(e: repo.EndpointRow, box: SecretBox): string[] {
  const at = cell.webhook(e.workspace_id, e.id);
  const current = [box.decrypt(e.secret_enc, at)];
  if (e.previous_secret_enc && e.previous_valid_until && e.previous_valid_until.getTime() > Date.now()) current.push(box.decrypt(e.previous_secret_enc, at));
  return current;
}

export function createWebhookActivities({ db, config, secrets, log }: ActivityDeps) {
  // The private-network guard runs in each connection's own lookup; redirects are never followed.
  const fetch = guardedFetch(config.allowPrivateNetwork);
  return {
    async attemptDelivery(deliveryId: string, attempt: number, nextAttemptAt: string | null): Promise<DeliveryAttemptResult> {
      const d = await repo.getDelivery(db, deliveryId);
      const endpoint = d && (await repo.getEndpoint(db, d.endpoint_id));
      if (!d || !endpoint || endpoint.disabled_at) {
        if (d) await repo.recordAttempt(db, d.id, attempt - 1, { at: new Date().toISOString(), status_code: null, error: 'endpoint disabled or deleted', duration_ms: 0 }, 'canceled', null);
        return { outcome: 'disabled', status_code: null };
      }
      // A retried activity whose attempt was already made and recorded answers from the record.
      const done = d.attempts[attempt - 1];
      if (done) {
        const code = done.status_code;
        return { outcome: code !== null && code >= 200 && code < 300 ? 'delivered' : code === 410 ? 'gone' : 'retry', status_code: code };
      }
      const started = Date.now();
      const attemptLog = activityLog(log, { delivery_id: d.id, workspace_id: d.workspace_id }).child({ endpoint_id: d.endpoint_id, event_type: d.event_type, delivery_attempt: attempt });
      const record = async (status: string, statusCode: number | null, error: string | null, next: string | null): Promise<void> => {
        attemptLog.info({ status, status_code: statusCode, error, ms: Date.now() - started, next_attempt_at: next }, 'webhook delivery attempt');
        await repo.recordAttempt(db, d.id, attempt, { at: new Date(started).toISOString(), status_code: statusCode, error, duration_ms: Date.now() - started }, status, next);
      };
      const blockedBy = async (reason: string): Promise<DeliveryAttemptResult> => {
        await record('failed', null, reason, null);
        return { outcome: 'blocked', status_code: null };
      };
      if (!config.allowPrivateNetwork && !endpoint.url.startsWith('https://')) return blockedBy('Webhook URLs must be https');
      const body = JSON.stringify(d.payload);
      const timestamp = Math.floor(Date.now() / 1000);
      let statusCode: number | null = null;
      let error: string | null = null;
      try {
        const res = await fetch(endpoint.url, {
          method: 'POST',
          signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
          headers: {
            'content-type': 'application/json',
            'user-agent': 'agent-platform-webhooks/1',
            'webhook-id': d.message_id,
            'webhook-timestamp': String(timestamp),
            'webhook-signature': signWebhook(secretsOf(endpoint, secrets), d.message_id, timestamp, body),
          },
          body,
        });
        statusCode = res.status;
        // Only the status matters: a huge or endless answer is dropped after BODY_LIMITS.webhookAnswer.
        await discardBody(res, BODY_LIMITS.webhookAnswer);
      } catch (err) {
        const blocked = privateNetworkCause(err);
        if (blocked) return blockedBy(blocked.message);
        // Anything else (a name that does not resolve now, a refused connection) is an attempt retried on schedule.
        const cause = (err as { cause?: Error }).cause;
        error = (err as Error).name === 'TimeoutError' ? `no answer within ${ATTEMPT_TIMEOUT_MS / 1000}s` : (cause?.message ?? (err as Error).message);
      }
      if (statusCode !== null && statusCode >= 200 && statusCode < 300) {
        await record('succeeded', statusCode, null, null);
        return { outcome: 'delivered', status_code: statusCode };
      }
      if (statusCode === 410) {
        await repo.disableEndpoint(db, endpoint.id, 'The receiver answered 410 Gone');
        await record('failed', statusCode, 'receiver answered 410 Gone: endpoint disabled', null);
        return { outcome: 'gone', status_code: statusCode };
      }
      if (statusCode !== null && statusCode >= 300 && statusCode < 400) error = `redirect (${statusCode}) not followed`;
      await record(nextAttemptAt ? 'pending' : 'failed', statusCode, error ?? `receiver answered ${statusCode}`, nextAttemptAt);
      return { outcome: 'retry', status_code: statusCode };
    },
  };
}
