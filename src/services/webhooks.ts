// Webhook endpoints (API.md 6): the secret is shown once (on create and on rotation); URLs must be
// https unless private networks are allowed, and may not point at private addresses.
import * as repo from '../db/webhooks';
import { newId } from '../db/ids';
import { PlatformError, notFound } from '../domain/errors';
import { isoDate, type ListQuery } from '../domain/common';
import type { WebhookCreate } from '../domain/webhook';
import type { Principal } from '../domain/workspace';
import { cell } from '../db/secret-cells';
import { checkOutbound } from './outbound-urls';
import { newWebhookSecret } from '../security/webhook-signing';
import { page, type ServiceDeps } from './deps';

const ROTATION_GRACE_SECONDS = 24 * 3600;

const endpointView = (e: repo.EndpointRow) => ({
  id: e.id,
  object: 'webhook_endpoint' as const,
  url: e.url,
  events: e.events,
  description: e.description,
  status: e.disabled_at ? ('disabled' as const) : ('enabled' as const),
  disabled_reason: e.disabled_reason,
  previous_secret_valid_until: e.previous_valid_until && e.previous_valid_until.getTime() > Date.now() ? isoDate(e.previous_valid_until) : null,
  created_at: isoDate(e.created_at),
});

const deliveryView = (d: repo.DeliveryRow) => ({
  id: d.id,
  object: 'webhook_delivery' as const,
  endpoint_id: d.endpoint_id,
  webhook_id: d.message_id,
  event_type: d.event_type,
  status: d.status,
  attempts: d.attempts,
  next_attempt_at: isoDate(d.next_attempt_at),
  payload: d.payload,
  created_at: isoDate(d.created_at),
});

const checkUrl = (deps: ServiceDeps, url: string): Promise<void> => checkOutbound(url, deps.config.allowPrivateNetwork, 'url');

export async function createWebhook(deps: ServiceDeps, p: Principal, b: WebhookCreate) {
  await checkUrl(deps, b.url);
  const secret = newWebhookSecret();
  const id = newId('whk');
  const row = await repo.insertEndpoint(deps.db, {
    id,
    workspace_id: p.workspace_id,
    url: b.url,
    events: [...new Set<string>(b.events)],
    description: b.description ?? null,
    secret_enc: deps.secrets.encrypt(secret, cell.webhook(p.workspace_id, id)),
  });
  return { ...endpointView(row), secret };
}

async function endpoint(deps: ServiceDeps, p: Principal, id: string): Promise<repo.EndpointRow> {
  const e = await repo.getEndpoint(deps.db, id, p.workspace_id);
  if (!e) throw notFound('webhook endpoint', 'id');
  return e;
}

export const getWebhook = async (deps: ServiceDeps, p: Principal, id: string) => endpointView(await endpoint(deps, p, id));

export async function listWebhooks(deps: ServiceDeps, p: Principal, q: ListQuery) {
  const pg = page(await repo.listEndpoints(deps.db, p.workspace_id, q.limit, q.after), q.limit);
  return { object: 'list' as const, ...pg, data: pg.data.map(endpointView) };
}

export async function deleteWebhook(deps: ServiceDeps, p: Principal, id: string) {
  if (!(await repo.deleteEndpoint(deps.db, p.workspace_id, id))) throw notFound('webhook endpoint', 'id');
  return { id, object: 'webhook_endpoint' as const, deleted: true };
}

/** A new secret, shown once; deliveries carry both signatures until the old secret's grace period ends. */
export async function rotateSecret(deps: ServiceDeps, p: Principal, id: string) {
  await endpoint(deps, p, id);
  const secret = newWebhookSecret();
  const row = await repo.rotateSecret(deps.db, id, deps.secrets.encrypt(secret, cell.webhook(p.workspace_id, id)), ROTATION_GRACE_SECONDS);
  return { ...endpointView(row), secret };
}

export async function listDeliveries(deps: ServiceDeps, p: Principal, id: string, q: ListQuery) {
  await endpoint(deps, p, id);
  const pg = page(await repo.listDeliveries(deps.db, id, q.limit, q.after), q.limit);
  return { object: 'list' as const, ...pg, data: pg.data.map(deliveryView) };
}
