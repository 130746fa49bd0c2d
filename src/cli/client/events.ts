// Following a run's events (API.md 3.2), or a session's log (API.md 16), over SSE, resuming with
// Last-Event-ID after a dropped connection so that each stored event is yielded exactly once and in order.
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
export function followEvents(client: ApiClient, runId: string, opts: FollowOptions): AsyncGenerator<Received> {
  return followStream({
    open: (lastSeq, signal) => client.eventStream(`/v1/runs/${encodeURIComponent(runId)}/events`, lastSeq, opts.deltas, signal),
    seqOf: (event) => event.seq,
    isLast: (event) => TERMINAL_EVENTS.includes(event.type),
    // A stream that closes at once with nothing new belongs to a run that has already ended.
    hasEnded: async () => isTerminal((await client.get<{ status: string }>(`/v1/runs/${encodeURIComponent(runId)}`)).status),
    lost: (reason) => `Lost the event stream of ${runId} for over ${GIVE_UP_AFTER_MS / 1000} s (${reason}); run \`ap runs watch ${runId}\` again later`,
    onInterrupted: opts.onInterrupted,
  });
}

/**
 * Yields a session's log (API.md 16) by session_seq, across its runs, with deltas when asked: from the
 * start with `replay`, else what happens from now on. It does not end while the session exists.
 */
export function followSessionEvents(client: ApiClient, sessionId: string, opts: FollowOptions & { replay: boolean }): AsyncGenerator<Received> {
  let first = true;
  return followStream({
    open: (lastSeq, signal) => {
      const path = `/v1/sessions/${encodeURIComponent(sessionId)}/events${first && opts.replay ? '?replay=1' : ''}`;
      first = false;
      return client.eventStream(path, lastSeq, opts.deltas, signal);
    },
    seqOf: (event) => event.session_seq,
    isLast: () => false,
    hasEnded: async () => false,
    lost: (reason) => `Lost the event stream of session ${sessionId} for over ${GIVE_UP_AFTER_MS / 1000} s (${reason})`,
    onInterrupted: opts.onInterrupted,
  });
}

interface StreamSource {
  /** Opens the stream after `lastSeq` (0: as the first request asks). */
  open(lastSeq: number, signal: AbortSignal): Promise<Response>;
  seqOf(event: RunEvent): number;
  isLast(event: RunEvent): boolean;
  /** After a stream that closed with nothing new: whether nothing more will come. */
  hasEnded(): Promise<boolean>;
  lost(reason: string): string;
  onInterrupted?: (reason: string, afterSeq: number) => void;
}

async function* followStream(src: StreamSource): AsyncGenerator<Received> {
  let lastSeq = 0;
  let failures = 0;
  let lastConnectedAt = Date.now();
  for (;;) {
    const abort = new AbortController();
    let reason: string;
    let sawStored = false;
    try {
      const res = await src.open(lastSeq, abort.signal);
      lastConnectedAt = Date.now();
      for await (const msg of decodeSse(res.body!)) {
        if (!msg.data) continue;
        const item = JSON.parse(msg.data) as StreamItem;
        if (isStored(item)) {
          // The server resumes after Last-Event-ID; this guard only protects against a misbehaving proxy.
          if (src.seqOf(item) <= lastSeq) continue;
          lastSeq = src.seqOf(item);
          sawStored = true;
          failures = 0;
        }
        yield { item, raw: msg.data };
        if (isStored(item) && src.isLast(item)) return;
      }
      reason = 'the server ended the stream';
    } catch (err) {
      if (!isRetriable(err) && !isDrop(err)) throw err;
      reason = (err as Error).message;
    } finally {
      abort.abort();
    }
    if (!sawStored && reason === 'the server ended the stream' && (await src.hasEnded())) return;
    if (Date.now() - lastConnectedAt > GIVE_UP_AFTER_MS) throw new Error(src.lost(reason));
    src.onInterrupted?.(reason, lastSeq);
    await new Promise((r) => setTimeout(r, Math.min(FIRST_BACKOFF_MS * 2 ** failures++, MAX_BACKOFF_MS)));
  }
}

/** A connection that broke while the body was being read (reset, premature close, "terminated"). */
function isDrop(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return /terminated|ECONNRESET|EPIPE|socket|other side closed/i.test(`${err.message} ${cause?.code ?? ''} ${cause?.message ?? ''}`);
}
