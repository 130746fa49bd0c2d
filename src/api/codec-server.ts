// The remote codec endpoint for the Temporal Web UI (`/codec/decode`), so that people with an admin or
// auditor key can read payloads that Temporal stores encrypted. Point the UI at http://<api>/codec with
// "pass access token" (the API key as bearer token). There is no `/codec/encode`: workers accept only
// encrypted payloads, and an endpoint that encrypts anything for an API key would reopen that side door
// (the Web UI runs with write actions off and never needs it).
import express, { type Router } from 'express';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { isEncrypted } from '../temporal/codec';
import { PlatformError } from '../domain/errors';
import type { Db } from '../db/pool';
import { requireApiKey } from './middleware/auth';
import { assertOperator } from '../services/workspaces';

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))])),
  data: new Uint8Array(Buffer.from(p.data ?? '', 'base64')),
});

const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

export function codecRouter(db: Db, codec: PayloadCodec, allowedOrigins: string[]): Router {
  const r = express.Router();
  r.use((req, res, next) => {
    const origin = req.header('origin');
    if (origin && allowedOrigins.includes(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Access-Control-Allow-Headers', 'authorization, content-type, x-namespace');
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    }
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    next();
  });
  r.use(requireApiKey(db));
  r.post('/decode', async (req, res) => {
    // One key encrypts every tenant's payloads: only the operator (the default workspace) may use it.
    await assertOperator(db, req.principal!, 'auditor', 'The codec endpoint is for the operator: an admin or auditor key of the default workspace');
    const payloads = (req.body as { payloads?: JsonPayload[] } | undefined)?.payloads;
    if (!Array.isArray(payloads)) throw new PlatformError('validation_failed', 'payloads must be an array', 'payloads');
    // Shown as stored when not encrypted (search attributes, or what someone sent past the API).
    const decoded = await Promise.all(payloads.map(fromJson).map(async (p) => (isEncrypted(p) ? (await codec.decode([p]))[0]! : p)));
    res.json({ payloads: decoded.map(toJson) });
  });
  return r;
}
