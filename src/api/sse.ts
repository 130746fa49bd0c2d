// SSE of a run's events (API.md 3.2): replay after Last-Event-ID / after_seq, then follow live through
// the event bus, `: keepalive` every 15 s, close after the terminal event. Deltas only with include=deltas.
// A session's log (API.md 16) streams the same way, numbered by session_seq, and stays open.
import type { Request, Response } from 'express';
import { eventPage, runProgress } from '../services/runs';
import { sessionEventPage, sessionIsGone, turnSettles } from '../services/session-log';
import type { ServiceDeps } from '../services/deps';
import type { RunEvent } from '../domain/run-event';
import { earlyFollower, followRun, followSession, type FollowItem, type RunFollower, type SessionFollower } from '../services/follow-run';

const KEEPALIVE_MS = 15_000;
const POLL_MS = 2_000;
const PAGE = 200;

export interface StreamOptions {
  afterSeq: number;
  includeDeltas: boolean;
}

export function openSse(res: Response): void {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  res.socket?.setNoDelay(true);
}

/** Open streams of this process, so that a shutdown can tell each client to reconnect elsewhere. */
const openStreams = new Set<Response>();

export const SHUTDOWN_COMMENT = ': server shutting down; reconnect with Last-Event-ID\n\n';

/** On shutdown: every open stream gets a final comment and ends; clients resume on another process. */
export function endAllStreams(): void {
  for (const res of openStreams) {
    res.write(SHUTDOWN_COMMENT);
    res.end();
  }
  openStreams.clear();
}

export interface Frame {
  /** The event's seq in a run's stream, its session_seq in a session's. */
  seq: number;
  type: string;
  text: string;
  event: RunEvent;
}

/**
 * Streams of one run (or session) wake on the same NOTIFY and ask for the same events: one query and one
 * serialization serve all of them (issue 7: with 1,000 clients, a query per client made delivery slow).
 */
const inflight = new Map<string, Promise<Frame[]>>();

function shared(key: string, read: () => Promise<Frame[]>): Promise<Frame[]> {
  let frames = inflight.get(key);
  if (!frames) {
    frames = read();
    inflight.set(key, frames);
    const forget = (): void => void inflight.delete(key);
    frames.then(forget, forget);
  }
  return frames;
}

const frameOf = (id: number, ev: { type: string }): string => `id: ${id}\nevent: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`;

function framesAfter(deps: ServiceDeps, runId: string, afterSeq: number): Promise<Frame[]> {
  return shared(`run:${runId}:${afterSeq}`, async () => (await eventPage(deps, runId, afterSeq, PAGE)).map((ev) => ({ seq: ev.seq, type: ev.type, text: frameOf(ev.seq, ev), event: ev })));
}

function sessionFramesAfter(deps: ServiceDeps, sessionId: string, afterSeq: number): Promise<Frame[]> {
  return shared(`session:${sessionId}:${afterSeq}`, async () =>
    (await sessionEventPage(deps, sessionId, afterSeq, PAGE)).map((ev) => ({ seq: ev.session_seq, type: ev.type, text: frameOf(ev.session_seq, ev), event: ev })),
  );
}

/** A follower of one run as an SSE stream reads it: frames shared with the run's other streams. */
export function followForSse(deps: ServiceDeps, runId: string, opts: StreamOptions & { catchUp?: boolean }): RunFollower<Frame> {
  return followRun<Frame>({
    bus: deps.bus,
    runId,
    afterSeq: opts.afterSeq,
    deltas: opts.includeDeltas,
    readPage: (afterSeq) => framesAfter(deps, runId, afterSeq),
    pageSize: PAGE,
    readRun: () => runProgress(deps, runId),
    pollMs: POLL_MS,
    ...(opts.catchUp === false ? { catchUp: false } : {}),
  });
}

/** A follower of a session's log as an SSE stream reads it (`activeRunId`: the run whose deltas it hears at once). */
export function followSessionForSse(deps: ServiceDeps, sessionId: string, opts: StreamOptions & { activeRunId?: string }): SessionFollower<Frame> {
  return followSession<Frame>({
    bus: deps.bus,
    sessionId,
    afterSeq: opts.afterSeq,
    deltas: opts.includeDeltas,
    readPage: (afterSeq) => sessionFramesAfter(deps, sessionId, afterSeq),
    pageSize: PAGE,
    pollMs: POLL_MS,
    isGone: () => sessionIsGone(deps, sessionId),
    ...(opts.activeRunId ? { activeRunId: opts.activeRunId } : {}),
  });
}

/**
 * Streams a run's events; with `follower`, one made earlier (before the run started, so that no delta
 * is missed), else one made now.
 */
export function streamRunEvents(deps: ServiceDeps, req: Request, res: Response, runId: string, opts: StreamOptions, follower?: RunFollower<Frame>): Promise<void> {
  return streamFollower(req, res, follower ?? followForSse(deps, runId, opts), { run_id: runId });
}

/**
 * Writes what a follower yields as SSE until it ends, the client goes, or `until` (given each stored
 * frame after it is written) says the stream is done; then ends the response.
 */
export async function streamFollower(
  req: Request,
  res: Response,
  follow: RunFollower<Frame>,
  logContext: Record<string, string>,
  until?: (frame: Frame) => boolean | Promise<boolean>,
): Promise<void> {
  if (!res.headersSent) openSse(res);
  openStreams.add(res);
  const keepalive = setInterval(() => void res.write(': keepalive\n\n'), KEEPALIVE_MS);
  const stop = (): void => follow.close();
  req.on('close', stop);
  res.on('close', () => {
    openStreams.delete(res);
    stop();
  });
  try {
    for await (const item of follow as AsyncIterable<FollowItem<Frame>>) {
      if (res.writableEnded) break;
      if (item.kind === 'event') {
        res.write(item.event.text);
        if (until && (await until(item.event))) break;
      } else {
        const d = item.delta;
        res.write(`event: message.delta\ndata: ${JSON.stringify({ object: 'run.delta', type: 'message.delta', run_id: d.run_id, data: { step: d.step, attempt: d.attempt, text: d.text } })}\n\n`);
      }
    }
  } catch (err) {
    req.log.warn({ err, ...logContext }, 'event stream ended by an error');
  } finally {
    clearInterval(keepalive);
    follow.close();
    openStreams.delete(res);
    if (!res.writableEnded) res.end();
  }
}

/**
 * The answer to `POST /v1/sessions/:id/messages` (and its idempotent replay): the session's log after
 * `afterSeq`, deltas included, until the posted run has paused for someone or the session has settled.
 */
export function streamSessionTurn(
  deps: ServiceDeps,
  req: Request,
  res: Response,
  t: { sessionId: string; runId: string; afterSeq: number; follower?: RunFollower<Frame> },
): Promise<void> {
  const settles = turnSettles(deps, t.sessionId, t.runId);
  const follow = t.follower ?? followSessionForSse(deps, t.sessionId, { afterSeq: t.afterSeq, includeDeltas: true, activeRunId: t.runId });
  return streamFollower(req, res, follow, { session_id: t.sessionId, run_id: t.runId }, (frame) => settles(frame.event));
}

/** For a create that answers with the run's stream: its follower is made before the run starts (earlyFollower). */
export const streamFromCreate = (deps: ServiceDeps) =>
  earlyFollower((runId) => followForSse(deps, runId, { afterSeq: 0, includeDeltas: true, catchUp: false }));

export function parseLastEventId(req: Request, afterSeqQuery: unknown): number {
  const header = req.header('last-event-id');
  const raw = header ?? (typeof afterSeqQuery === 'string' ? afterSeqQuery : undefined);
  const n = raw === undefined ? 0 : Number(raw);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}
