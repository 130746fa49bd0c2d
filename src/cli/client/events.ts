// Following a run's events over SSE (API.md 3.2), resuming with Last-Event-ID after a dropped
// connection so that each stored event is yielded exactly once and in order.
import type { RunDelta, RunEvent } from '../../domain/run-event';
import { TERMINAL_EVENTS } from '../../domain/event';
import { isTerminal } from '../../domain/run';
import { decodeSse } from '../../providers/sse-decoder';
import { ApiClient, isRetriable } from './http';

/** A `message.delta` frame: token text of one model call attempt; not stored, so it has no seq. */
export type DeltaFrame = RunDelta;

export type StreamItem = RunEvent | DeltaFrame;

export interface Received {
  item: StreamItem;
  /** The frame's data exactly as the API sent it (what --json prints). */
  raw: string;
}

export interface FollowOptions {
  deltas: boolean;
  /** Told about each interruption before the follower reconnects. */
  onInterrupted?: (reason: string, afterSeq: number) => void;
}

export const isStored = (item: StreamItem): item is RunEvent => item.object === 'run.event';

// Reconnect quickly at first, then every few seconds; give up after this long without a connection.
const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 5_000;
const GIVE_UP_AFTER_MS = 120_000;

/** Yields the run's events (and deltas when asked) until its terminal event; stops the request on return. */
export async function* followEvents(client: ApiClient, runId: string, opts: FollowOptions): AsyncGenerator<Received> {
  let lastSeq = 0;
  let failures = 0;
  let lastConnectedAt = Date.now();
  for (;;) {
    const abort = new AbortController();
    let reason: string;
    let sawStored = false;
    try {
      const res = await client.eventStream(runId, lastSeq, opts.deltas, abort.signal);
      lastConnectedAt = Date.now();
      for await (const msg of decodeSse(res.body!)) {
        if (!msg.data) continue;
        const item = JSON.parse(msg.data) as StreamItem;
        if (isStored(item)) {
          // The server resumes after Last-Event-ID; this guard only protects against a misbehaving proxy.
          if (item.seq <= lastSeq) continue;
          lastSeq = item.seq;
          sawStored = true;
          failures = 0;
        }
        yield { item, raw: msg.data };
        if (isStored(item) && TERMINAL_EVENTS.includes(item.type)) return;
      }
      reason = 'the server ended the stream';
    } catch (err) {
      if (!isRetriable(err) && !isDrop(err)) throw err;
      reason = (err as Error).message;
    } finally {
      abort.abort();
    }
    // A stream that closes at once with nothing new belongs to a run that has already ended.
    if (!sawStored && reason === 'the server ended the stream') {
      const run = await client.get<{ status: string }>(`/v1/runs/${encodeURIComponent(runId)}`);
      if (isTerminal(run.status)) return;
    }
    if (Date.now() - lastConnectedAt > GIVE_UP_AFTER_MS) {
      throw new Error(`Lost the event stream of ${runId} for over ${GIVE_UP_AFTER_MS / 1000} s (${reason}); run \`ap runs watch ${runId}\` again later`);
    }
    opts.onInterrupted?.(reason, lastSeq);
    await new Promise((r) => setTimeout(r, Math.min(FIRST_BACKOFF_MS * 2 ** failures++, MAX_BACKOFF_MS)));
  }
}

/** A connection that broke while the body was being read (reset, premature close, "terminated"). */
function isDrop(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return /terminated|ECONNRESET|EPIPE|socket|other side closed/i.test(`${err.message} ${cause?.code ?? ''} ${cause?.message ?? ''}`);
}
