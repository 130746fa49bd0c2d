// Webhooks (API.md 6): endpoint bodies and the event types they can subscribe to.
import { z } from 'zod';
import { outboundUrlSchema } from './url';

export const WEBHOOK_EVENTS = [
  'run.completed',
  'run.failed',
  'run.canceled',
  'run.waiting_approval',
  'run.tool_required',
  /** Not in API.md 6's list: a run waits for its user to authorize a connection (API.md 12). */
  'run.waiting_auth',
  'approval.decided',
  'action_invocation.completed',
  /** API.md 16: a workspace's spend reached 80 % or 100 % of its monthly token budget (once each per period). */
  'budget.threshold_reached',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

export const webhookCreateSchema = z.strictObject({
  url: outboundUrlSchema,
  events: z.union([z.tuple([z.literal('*')]), z.array(z.enum(WEBHOOK_EVENTS)).min(1).max(WEBHOOK_EVENTS.length)]),
  description: z.string().max(1000).optional(),
});

export type WebhookCreate = z.infer<typeof webhookCreateSchema>;

/** Retry delays in seconds (Standard Webhooks' suggested schedule; > 24 h in total). */
export const DEFAULT_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18_000, 36_000, 36_000];

export interface DeliveryAttemptResult {
  outcome: 'delivered' | 'gone' | 'retry' | 'blocked' | 'disabled';
  status_code: number | null;
}
