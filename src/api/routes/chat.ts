// /v1/chat/completions and /v1/models (API.md 7), also at /api/agents (API.md 16).
import type { Router } from 'express';
import { chatCompletionSchema } from '../../domain/chat';
import * as svc from '../../services/chat';
import type { ServiceDeps } from '../../services/deps';
import { defineRoutes, type RouteDoc } from '../route';
import { bindRunId } from '../middleware/request';
import { openSse } from '../sse';

/** Mounted at /v1 and, for Agentlify's clients, at /api/agents (API.md 16). */
export function chatRoutes(deps: ServiceDeps, registry: RouteDoc[], prefix = '/v1'): Router {
  const r = defineRoutes(registry, prefix);
  r.post('/chat/completions', { audit: 'run.create', roles: ['developer'], body: chatCompletionSchema, sse: true, summary: 'Run an agent once, answered in the Chat Completions format' }, async ({ req, res, p, body, audit }) => {
    const key = res.locals.idempotencyKey as string | undefined;
    // Once the run exists, the request's log lines carry its id.
    const onCreated = (runId: string): Promise<void> => {
      bindRunId(req, runId);
      return audit(runId);
    };
    if (body.stream) {
      const sink: svc.ChatStreamSink = { open: () => openSse(res), write: (text) => void res.write(text), end: () => void res.end(), onClose: (listener) => void req.on('close', listener) };
      await svc.stream(deps, p, body, req.id, sink, key, onCreated);
      return undefined;
    }
    return svc.complete(deps, p, body, req.id, key, onCreated);
  });
  r.get('/models', { roles: ['developer', 'auditor'], summary: "The workspace's enabled agents as models" }, ({ p }) => svc.listModels(deps, p));
  return r.router;
}
