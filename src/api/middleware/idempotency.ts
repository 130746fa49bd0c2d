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
import { PlatformError } from '../../domain/errors';
import { canonicalJson } from '../../domain/policy';
import type { ServiceDeps } from '../../services/deps';
import { claimKey, findKey, refreshClaim, releaseKey, storedBody, storeResponse, type Claim } from '../../services/idempotency';
import { streamRunEvents, streamSessionTurn } from '../sse';

const VALID_KEY = /^[\x20-\x7e]{1,255}$/;
const CLAIM_REFRESH_MS = 15_000;

/** Answers the request from a stored response ('replayed'), or claims its key and lets the route run ('run'). */
export type Idempotency = (req: Request, res: Response) => Promise<'replayed' | 'run'>;

export function idempotency(deps: ServiceDeps): Idempotency {
  return async (req, res) => {
    const key = req.header('idempotency-key');
    if (req.method !== 'POST' || key === undefined) return 'run';
    if (!VALID_KEY.test(key)) throw new PlatformError('validation_failed', 'Idempotency-Key must be 1-255 printable ASCII characters', 'Idempotency-Key');
    const ws = req.principal!.workspace_id;
    const keyId = req.principal!.key_id;
    const hash = crypto.createHash('sha256').update(`${req.method} ${req.path}\n${canonicalJson(req.body ?? null)}`).digest('hex');

    const claim: Claim = { ws, key, token: crypto.randomUUID() };

    if (!(await claimKey(deps, claim, hash, keyId))) {
      const row = await findKey(deps, ws, key);
      if (!row) throw new PlatformError('idempotency_in_progress', 'A request with this Idempotency-Key is being processed; retry shortly');
      // Checked first: another key learns neither the body nor whether its request matched.
      if (row.key_id !== keyId) throw new PlatformError('idempotency_key_reused', 'This Idempotency-Key was used by another API key', 'Idempotency-Key');
      if (row.request_hash !== hash) throw new PlatformError('idempotency_key_reused', 'This Idempotency-Key was used with a different request', 'Idempotency-Key');
      if (row.status === 'in_progress') throw new PlatformError('idempotency_in_progress', 'A request with this Idempotency-Key is being processed; retry shortly');
      res.setHeader('Idempotent-Replayed', 'true');
      for (const [h, v] of Object.entries(row.response_headers ?? {})) res.setHeader(h, v);
      // Stored encrypted: create responses carry secrets shown once (API keys, webhook secrets).
      const body = storedBody(deps, ws, key, row) as { stream_run_id?: string; stream_session_turn?: { session_id: string; run_id: string; after_seq: number } } | null;
      if (body?.stream_run_id) {
        await streamRunEvents(deps, req, res, body.stream_run_id, { afterSeq: 0, includeDeltas: true });
        return 'replayed';
      }
      if (body?.stream_session_turn) {
        const t = body.stream_session_turn;
        await streamSessionTurn(deps, req, res, { sessionId: t.session_id, runId: t.run_id, afterSeq: t.after_seq });
        return 'replayed';
      }
      res.status(row.response_status ?? 200).json(body);
      return 'replayed';
    }

    res.locals.idempotencyKey = key;
    // Long requests (wait: true) keep their claim fresh, so it is not mistaken for a crashed one.
    const refresh = setInterval(() => {
      refreshClaim(deps, claim).catch(() => undefined);
    }, CLAIM_REFRESH_MS);
    let settled = false;
    const store = async (status: number, body: unknown): Promise<void> => {
      if (settled) return;
      settled = true;
      clearInterval(refresh);
      if (status < 200 || status >= 300) {
        await releaseKey(deps, claim);
        return;
      }
      const location = res.getHeader('location');
      await storeResponse(deps, claim, status, body, location ? { Location: String(location) } : {});
    };
    // A request that ends without an answer (the client went away first) releases its key.
    res.on('close', () => {
      if (settled) return;
      settled = true;
      clearInterval(refresh);
      releaseKey(deps, claim).catch(() => undefined);
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
