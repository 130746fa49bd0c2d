// SSE of a run's events (API.md 3.2): replay after Last-Event-ID / after_seq, then follow live through
// the event bus, `: keepalive` every 15 s, close after the terminal event. Deltas only with include=deltas.
import type { Request, Response } from 'express';
import * as repo from '../db/runs';
import { TERMINAL_EVENTS } from '../domain/event';
import { isTerminal } from '../domain/run';
import { eventView } from '../services/runs';
import type { ServiceDeps } from '../services/deps';
import { createWaker } from '../services/wait';

const KEEPALIVE_MS = 15_000;
const POLL_MS = 2_000;

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

interface Frame {
  seq: number;
  type: string;
  text: string;
}

/**
 * Streams of one run wake on the same NOTIFY and ask for the same events: one query and one
 * serialization serve all of them (issue 7: with 1,000 clients, a query per client made delivery slow).
 */
const inflight = new Map<string, Promise<Frame[]>>();

function framesAfter(deps: ServiceDeps, runId: string, afterSeq: number): Promise<Frame[]> {
  const key = `${runId}:${afterSeq}`;
  let frames = inflight.get(key);
  if (!frames) {
    frames = repo.listEvents(deps.db, runId, afterSeq, 200).then((rows) =>
      rows.map((row) => {
        const ev = eventView(row);
        return { seq: ev.seq, type: ev.type, text: `id: ${ev.seq}\nevent: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n` };
      }),
    );
    inflight.set(key, frames);
    const forget = (): void => void inflight.delete(key);
    frames.then(forget, forget);
  }
  return frames;
}

export async function streamRunEvents(deps: ServiceDeps, req: Request, res: Response, runId: string, opts: StreamOptions): Promise<void> {
  if (!res.headersSent) openSse(res);
  openStreams.add(res);
  res.on('close', () => openStreams.delete(res));
  let lastSeq = opts.afterSeq;
  let closed = false;
  const waker = createWaker();
  const unsubscribe = deps.bus.subscribe(runId, {
    onEvent: () => waker.wake(),
    onDelta: opts.includeDeltas
      ? (d) => {
          if (!closed) res.write(`event: message.delta\ndata: ${JSON.stringify({ object: 'run.delta', type: 'message.delta', run_id: runId, data: { step: d.step, attempt: d.attempt, text: d.text } })}\n\n`);
        }
      : undefined,
  });
  const keepalive = setInterval(() => {
    if (!closed) res.write(': keepalive\n\n');
  }, KEEPALIVE_MS);
  const stop = (): void => {
    closed = true;
    waker.wake();
  };
  req.on('close', stop);
  res.on('close', stop);
  try {
    while (!closed) {
      const rows = await framesAfter(deps, runId, lastSeq);
      let terminal = false;
      for (const frame of rows) {
        res.write(frame.text);
        lastSeq = frame.seq;
        if (TERMINAL_EVENTS.includes(frame.type as (typeof TERMINAL_EVENTS)[number])) terminal = true;
      }
      if (terminal) break;
      if (rows.length === 200) continue;
      if (rows.length === 0) {
        // Resumed at or past the terminal event: nothing more will come.
        const run = await repo.getRun(deps.db, runId);
        if (!run || (isTerminal(run.status) && lastSeq >= run.last_seq)) break;
      }
      await waker.sleep(POLL_MS);
    }
  } catch (err) {
    req.log.warn({ err, run_id: runId }, 'event stream ended by an error');
  } finally {
    clearInterval(keepalive);
    unsubscribe();
    openStreams.delete(res);
    if (!res.writableEnded) res.end();
  }
}

export function parseLastEventId(req: Request, afterSeqQuery: unknown): number {
  const header = req.header('last-event-id');
  const raw = header ?? (typeof afterSeqQuery === 'string' ? afterSeqQuery : undefined);
  const n = raw === undefined ? 0 : Number(raw);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}
