// Idempotency-Key on POST (API.md 1.3): scope workspace + key, 24 h. The first request claims the key;
// its successful response is stored before it is sent; the same key with the same body replays it
// (Idempotent-Replayed: true), with another body is 422, while the first is running is 409. Errors are
// not stored (as at Stripe): the key is released and a retry runs again. The claim is refreshed while
// its request runs; one left behind by a crashed process is taken over after a minute, and run
// creation then finds the same run because the run's workflow id is derived from the key.
// A stored response belongs to the API key that made it (create responses carry secrets shown once):
// another key of the workspace with the same Idempotency-Key gets 422, never the body; and route.ts
// calls this only after the route's role check, so a replay never skips it.
import crypto from 'node:crypto';
import type { Request, Response } from 'express';
import { ApiError } from '../../domain/errors';
import { cell } from '../../db/secret-cells';
import { canonicalJson } from '../../domain/policy';
import type { ServiceDeps } from '../../services/deps';
import { streamRunEvents } from '../sse';

const VALID_KEY = /^[\x20-\x7e]{1,255}$/;
const STALE_CLAIM_SECONDS = 60;
const CLAIM_REFRESH_MS = 15_000;
const RETENTION_HOURS = 24;

interface KeyRow {
  key_id: string | null;
  request_hash: string;
  status: 'in_progress' | 'done';
  response_status: number | null;
  response_body: unknown;
  response_headers: Record<string, string> | null;
}

/** Answers the request from a stored response ('replayed'), or claims its key and lets the route run ('run'). */
export type Idempotency = (req: Request, res: Response) => Promise<'replayed' | 'run'>;

export function idempotency(deps: ServiceDeps): Idempotency {
  const { db } = deps;
  return async (req, res) => {
    const key = req.header('idempotency-key');
    if (req.method !== 'POST' || key === undefined) return 'run';
    if (!VALID_KEY.test(key)) throw new ApiError(400, 'validation_failed', 'Idempotency-Key must be 1-255 printable ASCII characters', 'Idempotency-Key');
    const ws = req.principal!.workspace_id;
    const keyId = req.principal!.key_id;
    const hash = crypto.createHash('sha256').update(`${req.method} ${req.path}\n${canonicalJson(req.body ?? null)}`).digest('hex');

    const token = crypto.randomUUID();
    const claim = async (): Promise<boolean> => {
      const r = await db.query(
        `INSERT INTO idempotency_keys (workspace_id, key, request_hash, status, claim_token, key_id) VALUES ($1, $2, $3, 'in_progress', $4, $5)
         ON CONFLICT (workspace_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, status = 'in_progress', created_at = now(),
                response_status = NULL, response_body = NULL, response_headers = NULL, claim_token = EXCLUDED.claim_token, key_id = EXCLUDED.key_id
           WHERE idempotency_keys.created_at < now() - make_interval(hours => ${RETENTION_HOURS})
              OR (idempotency_keys.status = 'in_progress' AND idempotency_keys.request_hash = EXCLUDED.request_hash
                  AND idempotency_keys.key_id = EXCLUDED.key_id
                  AND idempotency_keys.created_at < now() - make_interval(secs => ${STALE_CLAIM_SECONDS}))
         RETURNING 1`,
        [ws, key, hash, token, keyId],
      );
      return (r.rowCount ?? 0) > 0;
    };

    if (!(await claim())) {
      const row = (await db.query<KeyRow>('SELECT * FROM idempotency_keys WHERE workspace_id = $1 AND key = $2', [ws, key])).rows[0];
      if (!row) throw new ApiError(409, 'idempotency_in_progress', 'A request with this Idempotency-Key is being processed; retry shortly');
      // Checked first: another key learns neither the body nor whether its request matched.
      if (row.key_id !== keyId) throw new ApiError(422, 'idempotency_key_reused', 'This Idempotency-Key was used by another API key', 'Idempotency-Key');
      if (row.request_hash !== hash) throw new ApiError(422, 'idempotency_key_reused', 'This Idempotency-Key was used with a different request', 'Idempotency-Key');
      if (row.status === 'in_progress') throw new ApiError(409, 'idempotency_in_progress', 'A request with this Idempotency-Key is being processed; retry shortly');
      res.setHeader('Idempotent-Replayed', 'true');
      for (const [h, v] of Object.entries(row.response_headers ?? {})) res.setHeader(h, v);
      // Stored encrypted: create responses carry secrets shown once (API keys, webhook secrets).
      const stored = row.response_body as { enc?: string } | null;
      const body = (stored?.enc ? JSON.parse(deps.secrets.decrypt(stored.enc, cell.idempotentResponse(ws, key))) : stored) as { stream_run_id?: string } | null;
      if (body?.stream_run_id) {
        await streamRunEvents(deps, req, res, body.stream_run_id, { afterSeq: 0, includeDeltas: true });
        return 'replayed';
      }
      res.status(row.response_status ?? 200).json(body);
      return 'replayed';
    }

    res.locals.idempotencyKey = key;
    // Long requests (wait: true) keep their claim fresh, so it is not mistaken for a crashed one.
    const refresh = setInterval(() => {
      db.query(`UPDATE idempotency_keys SET created_at = now() WHERE workspace_id = $1 AND key = $2 AND claim_token = $3 AND status = 'in_progress'`, [ws, key, token]).catch(() => undefined);
    }, CLAIM_REFRESH_MS);
    let settled = false;
    const store = async (status: number, body: unknown): Promise<void> => {
      if (settled) return;
      settled = true;
      clearInterval(refresh);
      if (status < 200 || status >= 300) {
        await db.query('DELETE FROM idempotency_keys WHERE workspace_id = $1 AND key = $2 AND claim_token = $3', [ws, key, token]);
        return;
      }
      const location = res.getHeader('location');
      await db.query(
        `UPDATE idempotency_keys SET status = 'done', response_status = $4, response_body = $5, response_headers = $6
          WHERE workspace_id = $1 AND key = $2 AND claim_token = $3`,
        [ws, key, token, status, JSON.stringify({ enc: deps.secrets.encrypt(JSON.stringify(body ?? null), cell.idempotentResponse(ws, key)) }), location ? { Location: String(location) } : {}],
      );
    };
    // A request that ends without an answer (the client went away first) releases its key.
    res.on('close', () => {
      if (settled) return;
      settled = true;
      clearInterval(refresh);
      db.query('DELETE FROM idempotency_keys WHERE workspace_id = $1 AND key = $2 AND claim_token = $3', [ws, key, token]).catch(() => undefined);
    });
    res.locals.idempotencyStore = store;
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      store(res.statusCode, body)
        .catch((err: unknown) => req.log.error({ err }, 'could not store the idempotent response'))
        .finally(() => json(body));
      return res;
    };
    return 'run';
  };
}
