// /v1/sessions, /v1/runs, a run's events (JSON or SSE) and its feedback (developers give it, every role reads it).
import type { Router } from 'express';
import type { Response } from 'express';
import { z } from 'zod';
import { cancelSchema, oneOffRunCreateSchema, runCreateSchema, runListQuerySchema, type RunCreate } from '../../domain/run';
import { sessionCreateSchema, sessionListQuerySchema } from '../../domain/session';
import type { Principal } from '../../domain/workspace';
import * as svc from '../../services/runs';
import * as history from '../../services/history';
import * as feedback from '../../services/feedback';
import { feedbackCreateSchema, feedbackListQuerySchema, RUN_FEEDBACK_ITEMS } from '../../domain/feedback';
import type { ServiceDeps } from '../../services/deps';
import { defineRoutes, type RouteDoc, READ_ALL } from '../route';
import { openSse, parseLastEventId, streamFromCreate, streamRunEvents, type Frame } from '../sse';
import type { RunFollower } from '../../services/follow-run';
import { bindRunId } from '../middleware/request';
import type { Request } from 'express';
import { runObjectSchema, sessionObjectSchema } from '../../domain/api-objects';
import { runEventSchema } from '../../domain/run-event';

const eventsQuerySchema = z.object({
  after_seq: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(100).default(100),
  include: z.enum(['deltas']).optional(),
});

export function runRoutes(deps: ServiceDeps, registry: RouteDoc[]): Router {
  const r = defineRoutes(registry);

  r.post('/sessions', { roles: ['developer'], body: sessionCreateSchema, response: { object: sessionObjectSchema } }, async ({ p, body, res }) => {
    const { created, session } = await svc.createSession(deps, p, body);
    res.status(created ? 201 : 200);
    return session;
  });
  r.get('/sessions', { roles: READ_ALL, query: sessionListQuerySchema, response: { list: sessionObjectSchema } }, ({ p, query }) => svc.listSessions(deps, p, query));
  r.get('/sessions/:id', { roles: READ_ALL, response: { object: sessionObjectSchema } }, ({ p, params }) => svc.getSession(deps, p, params.id!));
  r.get('/sessions/:id/messages', { roles: READ_ALL }, ({ p, params }) => svc.sessionMessages(deps, p, params.id!));
  r.delete('/sessions/:id', { audit: 'session.delete', roles: ['developer'] }, ({ p, params }) => svc.deleteSession(deps, p, params.id!));

  r.post('/sessions/:id/runs', { audit: 'run.create', roles: ['developer'], body: runCreateSchema, response: { object: runObjectSchema } }, async ({ req, res, p, params, body, audit }) => {
    const early = body.stream ? streamFromCreate(deps) : undefined;
    try {
      const run = await svc.createRunInSession(deps, p, params.id!, body, req.id, res.locals.idempotencyKey as string | undefined, undefined, early?.hooks);
      bindRunId(req, run.id);
      await audit(run.id);
      return await respondToCreate(deps, req, res, p, run, body, early?.take(run.id));
    } finally {
      early?.close();
    }
  });
  r.post('/runs', { audit: 'run.create', roles: ['developer'], body: oneOffRunCreateSchema, response: { object: runObjectSchema } }, async ({ req, res, p, body, audit }) => {
    const { agent, environment, ...rest } = body;
    const early = body.stream ? streamFromCreate(deps) : undefined;
    try {
      const run = await svc.createOneOffRun(deps, p, { agent, ...(environment ? { environment } : {}) }, rest, req.id, res.locals.idempotencyKey as string | undefined, early?.hooks);
      bindRunId(req, run.id);
      await audit(run.id);
      return await respondToCreate(deps, req, res, p, run, rest, early?.take(run.id));
    } finally {
      early?.close();
    }
  });
  r.get('/runs', { roles: READ_ALL, query: runListQuerySchema, response: { list: runObjectSchema }, summary: 'Runs, newest first; each carries its feedback counts `feedback: {count, up, down}` (no items)' }, ({ p, query }) => svc.listRuns(deps, p, query));
  r.get('/runs/:id/history', { roles: ['auditor'], summary: 'The Temporal event history of the run (replayable with ap replay)' }, ({ p, params }) => history.runHistory(deps, p, params.id!));
  // With the request's logger, so that the service's lines carry the request and the run.
  r.get('/runs/:id', { roles: READ_ALL, response: { object: runObjectSchema }, summary: `A run; \`feedback\` is {count, up, down, items}: the counts and the ${RUN_FEEDBACK_ITEMS} newest feedback objects` }, ({ req, p, params }) => svc.getRun({ ...deps, log: req.log }, p, params.id!));
  r.post(
    '/runs/:id/feedback',
    {
      audit: 'run.feedback',
      roles: ['developer'],
      body: feedbackCreateSchema,
      summary: "Feedback on the run: {rating: 1 | -1, comment?, key?}, one per key per run (key defaults to the posting API key's id). 201 with the run.feedback object when the key's first; 200 when it replaced the key's earlier feedback (rating and comment; created_at stays)",
    },
    async ({ res, p, params, body, audit }) => {
      const { created, feedback: f } = await feedback.giveFeedback(deps.db, p, params.id!, body);
      await audit(params.id); // the audit target is the run, not the feedback object
      res.status(created ? 201 : 200);
      return f;
    },
  );
  r.get('/runs/:id/feedback', { roles: READ_ALL, query: feedbackListQuerySchema, summary: "The run's feedback objects, newest first (by first creation: a replacement keeps its place)" }, ({ p, params, query }) => feedback.listFeedback(deps.db, p, params.id!, query));
  r.post('/runs/:id/cancel', { audit: 'run.cancel', roles: ['developer'], body: cancelSchema, status: 202, response: { object: runObjectSchema } }, ({ p, params, body }) => svc.cancelRun(deps, p, params.id!, body.reason));

  for (const [path, forceSse] of [['/runs/:id/events', false], ['/runs/:id/events/stream', true]] as const) {
    r.get(path, { roles: READ_ALL, query: eventsQuerySchema, sse: true, response: { list: runEventSchema } }, async ({ req, res, p, params, query }) => {
      const wantsSse = forceSse || (req.header('accept') ?? '').includes('text/event-stream');
      if (!wantsSse) return svc.listEvents(deps, p, params.id!, query.after_seq, query.limit);
      await svc.getRunRow(deps, p, params.id!);
      await streamRunEvents(deps, req, res, params.id!, { afterSeq: parseLastEventId(req, req.query.after_seq), includeDeltas: query.include === 'deltas' });
      return undefined;
    });
  }
  return r.router;
}

async function respondToCreate(deps: ServiceDeps, req: Request, res: Response, p: Principal, run: svc.RunView, body: RunCreate, follower?: RunFollower<Frame>) {
  res.setHeader('Location', `/v1/runs/${run.id}`);
  if (body.stream) {
    // A replay of this request streams the same run again.
    const store = res.locals.idempotencyStore as ((status: number, body: unknown) => Promise<void>) | undefined;
    await store?.(200, { stream_run_id: run.id });
    openSse(res);
    await streamRunEvents(deps, req, res, run.id, { afterSeq: 0, includeDeltas: true }, follower);
    return undefined;
  }
  if (body.wait) {
    const abort = new AbortController();
    req.on('close', () => abort.abort());
    return svc.waitForRun(deps, p, run.id, body.wait_timeout_seconds, abort.signal);
  }
  res.status(202);
  return run;
}
