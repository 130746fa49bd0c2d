// A session's event log and its session-level verbs (API.md 16): the log as JSON pages, as one array,
// or live over SSE; a user message answered with the log until the session settles; fire-and-forget
// messages; cancelling the session's active run.
import type { Request, Response, Router } from 'express';
import { sessionCancelSchema, sessionEventsPostSchema, sessionEventsQuerySchema, sessionMessageSchema, sessionStreamQuerySchema } from '../../domain/session';
import type { Principal } from '../../domain/workspace';
import { runEventSchema } from '../../domain/run-event';
import { runObjectSchema } from '../../domain/api-objects';
import * as log from '../../services/session-log';
import type { ServiceDeps } from '../../services/deps';
import { bindRunId } from '../middleware/request';
import { defineRoutes, READ_ALL, type RouteDoc } from '../route';
import { followSessionForSse, openSse, streamFollower, streamSessionTurn } from '../sse';

export function sessionLogRoutes(deps: ServiceDeps, registry: RouteDoc[]): Router {
  const r = defineRoutes(registry);

  const streamLog = async (req: Request, res: Response, p: Principal, id: string, q: { after_seq?: number; include?: 'deltas'; replay?: string }) => {
    const start = await log.sessionStreamStart(deps, p, id);
    const afterSeq = replayFrom(req.header('last-event-id'), q.after_seq, q.replay) ?? start.lastSeq;
    const follower = followSessionForSse(deps, id, { afterSeq, includeDeltas: q.include === 'deltas', ...(start.activeRunId ? { activeRunId: start.activeRunId } : {}) });
    await streamFollower(req, res, follower, { session_id: id });
    return undefined;
  };
  const SSE_DOC =
    'SSE: `id:` is the session_seq; replays after `Last-Event-ID` or `after_seq`, or the whole log with `?replay=1`; otherwise tails from now; `include=deltas` adds token deltas. Stays open (a `: keepalive` every 15 s) until the session is deleted';
  r.get(
    '/sessions/:id/events',
    {
      roles: READ_ALL,
      query: sessionEventsQuerySchema,
      sse: true,
      response: { list: runEventSchema },
      summary: `The session log: every event of the session's runs, numbered by \`session_seq\` (gapless across runs). JSON pages (\`after_seq\`, \`limit\` 1-1000, \`order\`; with \`desc\`, \`after_seq\` is the seq to read before, 0 from the newest); with \`Accept: text/event-stream\`, the ${SSE_DOC}`,
    },
    ({ req, res, p, params, query }) =>
      (req.header('accept') ?? '').includes('text/event-stream') ? streamLog(req, res, p, params.id!, query) : log.listSessionEvents(deps, p, params.id!, query),
  );
  r.get('/sessions/:id/events/stream', { roles: READ_ALL, query: sessionStreamQuerySchema, sse: true, response: { list: runEventSchema }, summary: `The session log as ${SSE_DOC}` }, ({ req, res, p, params, query }) =>
    streamLog(req, res, p, params.id!, query),
  );

  r.get('/sessions/:id/log', { roles: READ_ALL, summary: 'The whole session log as one JSON array of run events, in session_seq order' }, async ({ res, p, params }) => {
    const pages = await log.sessionLog(deps, p, params.id!);
    res.status(200).type('application/json');
    res.write('[');
    let first = true;
    for await (const events of pages) {
      for (const e of events) {
        res.write(`${first ? '' : ','}${JSON.stringify(e)}`);
        first = false;
      }
    }
    res.end(']');
    return undefined;
  });

  r.post(
    '/sessions/:id/messages',
    {
      audit: 'run.create',
      roles: ['developer'],
      body: sessionMessageSchema,
      sse: true,
      summary:
        'One user turn: starts a run with `content` and answers with `text/event-stream` of the session log (deltas included) from now until the run pauses for a person or a client, or has ended and the session is idle or waiting. `if_busy` defaults to the session\'s. `Location` names the run',
    },
    async ({ req, res, p, params, body, audit }) => {
      const start = await log.sessionStreamStart(deps, p, params.id!);
      const follower = followSessionForSse(deps, params.id!, { afterSeq: start.lastSeq, includeDeltas: true, ...(start.activeRunId ? { activeRunId: start.activeRunId } : {}) });
      try {
        const run = await log.postMessage(deps, p, start.session, body, req.id, res.locals.idempotencyKey as string | undefined, { beforeStart: (runId) => follower.watchRun(runId) });
        bindRunId(req, run.id);
        await audit(run.id);
        res.setHeader('Location', `/v1/runs/${run.id}`);
        // A replay of this request streams the same turn again, from the same place in the log.
        const store = res.locals.idempotencyStore as ((status: number, body: unknown) => Promise<void>) | undefined;
        await store?.(200, { stream_session_turn: { session_id: params.id!, run_id: run.id, after_seq: start.lastSeq } });
        openSse(res);
        await streamSessionTurn(deps, req, res, { sessionId: params.id!, runId: run.id, afterSeq: start.lastSeq, follower });
        return undefined;
      } finally {
        follower.close();
      }
    },
  );

  r.post(
    '/sessions/:id/events',
    {
      audit: 'run.create',
      roles: ['developer'],
      body: sessionEventsPostSchema,
      status: 202,
      summary: 'Fire-and-forget `user.message` events: they become one run\'s input (202 `{run_id}`); while a run is active the session\'s `if_busy` applies (409 `session_busy`, or queued)',
    },
    async ({ req, res, p, params, body, audit }) => {
      const accepted = await log.postEvents(deps, p, params.id!, body, req.id, res.locals.idempotencyKey as string | undefined);
      bindRunId(req, accepted.run_id);
      await audit(accepted.run_id);
      res.setHeader('Location', `/v1/runs/${accepted.run_id}`);
      return accepted;
    },
  );

  r.post(
    '/sessions/:id/cancel',
    { audit: 'run.cancel', roles: ['developer'], body: sessionCancelSchema, status: 202, response: { object: runObjectSchema }, summary: "Cancels the session's active run (its oldest unfinished one; runs queued behind it then start); 409 `session_idle` when there is none" },
    ({ p, params, body }) => log.cancelSessionRun(deps, p, params.id!, body.reason),
  );

  return r.router;
}

/** Where a session stream replays from: Last-Event-ID, else `after_seq`, else 0 with `replay=1`; undefined: tail from now. */
function replayFrom(lastEventId: string | undefined, afterSeq: number | undefined, replay: string | undefined): number | undefined {
  if (lastEventId !== undefined) {
    const n = Number(lastEventId);
    if (Number.isSafeInteger(n) && n >= 0) return n;
  }
  if (afterSeq !== undefined) return afterSeq;
  return replay === '1' || replay === 'true' ? 0 : undefined;
}
