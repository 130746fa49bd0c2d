// Webhook endpoints and deliveries.
import type { Queryable } from './pool';

export interface EndpointRow {
  id: string;
  workspace_id: string;
  url: string;
  events: string[];
  description: string | null;
  secret_enc: string;
  previous_secret_enc: string | null;
  previous_valid_until: Date | null;
  disabled_at: Date | null;
  disabled_reason: string | null;
  created_at: Date;
}

export interface DeliveryRow {
  id: string;
  workspace_id: string;
  endpoint_id: string;
  message_id: string;
  event_type: string;
  payload: { type: string; timestamp: string; data: unknown };
  status: string;
  attempts: { at: string; status_code: number | null; error: string | null; duration_ms: number }[];
  next_attempt_at: Date | null;
  created_at: Date;
}

export async function insertEndpoint(q: Queryable, e: Pick<EndpointRow, 'id' | 'workspace_id' | 'url' | 'events' | 'description' | 'secret_enc'>): Promise<EndpointRow> {
  return (
    await q.query<EndpointRow>(
      'INSERT INTO webhook_endpoints (id, workspace_id, url, events, description, secret_enc) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *',
      [e.id, e.workspace_id, e.url, e.events, e.description, e.secret_enc],
    )
  ).rows[0]!;
}

export async function getEndpoint(q: Queryable, id: string, ws?: string): Promise<EndpointRow | undefined> {
  return (
    await q.query<EndpointRow>('SELECT * FROM webhook_endpoints WHERE id = $1 AND deleted_at IS NULL AND ($2::text IS NULL OR workspace_id = $2)', [id, ws ?? null])
  ).rows[0];
}

export async function listEndpoints(q: Queryable, ws: string, limit: number, after?: string): Promise<EndpointRow[]> {
  return (
    await q.query<EndpointRow>(
      'SELECT * FROM webhook_endpoints WHERE workspace_id = $1 AND deleted_at IS NULL AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3',
      [ws, after ?? null, limit + 1],
    )
  ).rows;
}

/** The deliveries of one event (its message id) in the workspace not attempted yet: to start again after a lost start. */
export async function unattemptedDeliveries(q: Queryable, ws: string, messageId: string): Promise<string[]> {
  const r = await q.query<{ id: string }>(
    `SELECT d.id FROM webhook_endpoints e JOIN webhook_deliveries d ON d.endpoint_id = e.id AND d.message_id = $2
      WHERE e.workspace_id = $1 AND d.status = 'pending' AND d.attempts = '[]'::jsonb`,
    [ws, messageId],
  );
  return r.rows.map((x) => x.id);
}

/** Endpoints of the workspace that want this event (and are not disabled). */
export async function subscribers(q: Queryable, ws: string, eventType: string): Promise<EndpointRow[]> {
  return (
    await q.query<EndpointRow>(
      `SELECT * FROM webhook_endpoints WHERE workspace_id = $1 AND deleted_at IS NULL AND disabled_at IS NULL AND ($2 = ANY(events) OR '*' = ANY(events))`,
      [ws, eventType],
    )
  ).rows;
}

export async function deleteEndpoint(q: Queryable, ws: string, id: string): Promise<boolean> {
  return ((await q.query('UPDATE webhook_endpoints SET deleted_at = now() WHERE workspace_id = $1 AND id = $2 AND deleted_at IS NULL', [ws, id])).rowCount ?? 0) > 0;
}

export async function rotateSecret(q: Queryable, id: string, secretEnc: string, graceSeconds: number): Promise<EndpointRow> {
  return (
    await q.query<EndpointRow>(
      `UPDATE webhook_endpoints SET previous_secret_enc = secret_enc, previous_valid_until = now() + make_interval(secs => $3), secret_enc = $2
        WHERE id = $1 RETURNING *`,
      [id, secretEnc, graceSeconds],
    )
  ).rows[0]!;
}

export async function disableEndpoint(q: Queryable, id: string, reason: string): Promise<void> {
  await q.query('UPDATE webhook_endpoints SET disabled_at = now(), disabled_reason = $2 WHERE id = $1 AND disabled_at IS NULL', [id, reason]);
}

/** One delivery per endpoint and event: a retried enqueue inserts nothing twice. */
export async function insertDelivery(q: Queryable, d: Pick<DeliveryRow, 'id' | 'workspace_id' | 'endpoint_id' | 'message_id' | 'event_type' | 'payload'>): Promise<DeliveryRow> {
  await q.query(
    `INSERT INTO webhook_deliveries (id, workspace_id, endpoint_id, message_id, event_type, payload, status, next_attempt_at)
     VALUES ($1, $2, $3, $4, $5, $6, 'pending', now()) ON CONFLICT (endpoint_id, message_id) DO NOTHING`,
    [d.id, d.workspace_id, d.endpoint_id, d.message_id, d.event_type, d.payload],
  );
  return (await q.query<DeliveryRow>('SELECT * FROM webhook_deliveries WHERE endpoint_id = $1 AND message_id = $2', [d.endpoint_id, d.message_id])).rows[0]!;
}

export async function getDelivery(q: Queryable, id: string): Promise<DeliveryRow | undefined> {
  return (await q.query<DeliveryRow>('SELECT * FROM webhook_deliveries WHERE id = $1', [id])).rows[0];
}

export async function listDeliveries(q: Queryable, endpointId: string, limit: number, after?: string): Promise<DeliveryRow[]> {
  return (
    await q.query<DeliveryRow>(
      'SELECT * FROM webhook_deliveries WHERE endpoint_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3',
      [endpointId, after ?? null, limit + 1],
    )
  ).rows;
}

/** Appends attempt number `n` (idempotent: an attempt already recorded is not added again). */
export async function recordAttempt(
  q: Queryable,
  id: string,
  n: number,
  attempt: DeliveryRow['attempts'][number],
  status: string,
  nextAttemptAt: string | null,
): Promise<void> {
  await q.query(
    `UPDATE webhook_deliveries SET attempts = CASE WHEN jsonb_array_length(attempts) < $2 THEN attempts || $3::jsonb ELSE attempts END,
            status = $4, next_attempt_at = $5::timestamptz WHERE id = $1`,
    [id, n, JSON.stringify([attempt]), status, nextAttemptAt],
  );
}
