// The store behind Idempotency-Key (API.md 1.3; the HTTP side is src/api/middleware/idempotency.ts): a
// key is claimed by one request at a time, refreshed while it runs, released when it fails, and holds
// the successful response, encrypted (create responses carry secrets shown once), for 24 h.
import { cell } from '../db/secret-cells';
import type { ServiceDeps } from './deps';

/** A claim this old, of a request with the same body and key, was left by a crashed process. */
const STALE_CLAIM_SECONDS = 60;
const RETENTION_HOURS = 24;

type KeyDeps = Pick<ServiceDeps, 'db' | 'secrets'>;

export interface KeyRow {
  key_id: string | null;
  request_hash: string;
  status: 'in_progress' | 'done';
  response_status: number | null;
  response_body: unknown;
  response_headers: Record<string, string> | null;
}

/** One request's hold on a key: `token` tells its claim from a later one of the same key. */
export interface Claim {
  ws: string;
  key: string;
  token: string;
}

/** Claims the key (new, expired, or a stale claim of the same request and API key); false when it is held or used. */
export async function claimKey(deps: KeyDeps, c: Claim, requestHash: string, keyId: string): Promise<boolean> {
  const r = await deps.db.query(
    `INSERT INTO idempotency_keys (workspace_id, key, request_hash, status, claim_token, key_id) VALUES ($1, $2, $3, 'in_progress', $4, $5)
     ON CONFLICT (workspace_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, status = 'in_progress', created_at = now(),
            response_status = NULL, response_body = NULL, response_headers = NULL, claim_token = EXCLUDED.claim_token, key_id = EXCLUDED.key_id
       WHERE idempotency_keys.created_at < now() - make_interval(hours => ${RETENTION_HOURS})
          OR (idempotency_keys.status = 'in_progress' AND idempotency_keys.request_hash = EXCLUDED.request_hash
              AND idempotency_keys.key_id = EXCLUDED.key_id
              AND idempotency_keys.created_at < now() - make_interval(secs => ${STALE_CLAIM_SECONDS}))
     RETURNING 1`,
    [c.ws, c.key, requestHash, c.token, keyId],
  );
  return (r.rowCount ?? 0) > 0;
}

export async function findKey(deps: KeyDeps, ws: string, key: string): Promise<KeyRow | undefined> {
  return (await deps.db.query<KeyRow>('SELECT * FROM idempotency_keys WHERE workspace_id = $1 AND key = $2', [ws, key])).rows[0];
}

/** The stored response body, decrypted (a body stored before encryption is read as it is). */
export function storedBody(deps: KeyDeps, ws: string, key: string, row: KeyRow): unknown {
  const stored = row.response_body as { enc?: string } | null;
  return stored?.enc ? JSON.parse(deps.secrets.decrypt(stored.enc, cell.idempotentResponse(ws, key))) : stored;
}

/** Keeps a long request's claim fresh, so it is not mistaken for a crashed one. */
export async function refreshClaim(deps: KeyDeps, c: Claim): Promise<void> {
  await deps.db.query(`UPDATE idempotency_keys SET created_at = now() WHERE workspace_id = $1 AND key = $2 AND claim_token = $3 AND status = 'in_progress'`, [c.ws, c.key, c.token]);
}

/** Gives the key back: a retry runs again. */
export async function releaseKey(deps: KeyDeps, c: Claim): Promise<void> {
  await deps.db.query('DELETE FROM idempotency_keys WHERE workspace_id = $1 AND key = $2 AND claim_token = $3', [c.ws, c.key, c.token]);
}

export async function storeResponse(deps: KeyDeps, c: Claim, status: number, body: unknown, headers: Record<string, string>): Promise<void> {
  await deps.db.query(
    `UPDATE idempotency_keys SET status = 'done', response_status = $4, response_body = $5, response_headers = $6
      WHERE workspace_id = $1 AND key = $2 AND claim_token = $3`,
    [c.ws, c.key, c.token, status, JSON.stringify({ enc: deps.secrets.encrypt(JSON.stringify(body ?? null), cell.idempotentResponse(c.ws, c.key)) }), headers],
  );
}
