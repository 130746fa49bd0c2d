// Following a run as it happens: its stored events after a seq, then the new ones as their NOTIFY comes
// (and a poll, for a NOTIFY lost while the bus reconnected), with the live token deltas between them, in
// the order the bus delivered them, until the terminal event. The SSE route, the OpenAI-compatible stream
// and `wait: true` (runs.ts waitForRun) all read a run this way.
//
// A follower subscribes when it is made, not when it is first read: made before the run's workflow
// starts (createRun's `beforeStart`), it keeps the first deltas of a fast model, which would otherwise
// come before anyone listened, since deltas are never stored.
import type { DeltaNotice } from '../domain/event';
import { TERMINAL_EVENTS } from '../domain/event';
import { isTerminal } from '../domain/run';
import type { EventBus } from './event-bus';
import { createWaker } from './wait';

/** What a follower reads a page of stored events with: the SSE route shares one read among its clients. */
export type EventPageReader<E> = (afterSeq: number) => Promise<E[]>;

export interface FollowedEvent {
  seq: number;
  type: string;
}

export type FollowItem<E> = { kind: 'event'; event: E } | { kind: 'delta'; delta: DeltaNotice };

export interface FollowOptions<E> {
  bus: EventBus;
  runId: string;
  afterSeq: number;
  deltas: boolean;
  readPage: EventPageReader<E>;
  /** The page size readPage returns at most: a full page is followed by another read at once. */
  pageSize: number;
  /** The run's state when a read finds nothing new: the stream ends once the run is over and read. */
  readRun: () => Promise<{ status: string; last_seq: number } | undefined>;
  pollMs: number;
  /**
   * Read what is stored before following (the default). A follower made before its run exists has
   * nothing to catch up on, and reads only as the bus tells it, so that its first deltas keep their place.
   */
  catchUp?: boolean;
}

export interface RunFollower<E> extends AsyncIterable<FollowItem<E>> {
  /** Ends the iteration at its next step and unsubscribes; safe to call more than once. */
  close(): void;
}

/** At most this many entries wait to be read: beyond it, deltas are dropped (the stored events are not). */
const MAX_QUEUED = 10_000;

type Entry = { kind: 'notice'; seq: number } | { kind: 'delta'; delta: DeltaNotice };

export function followRun<E extends FollowedEvent>(opts: FollowOptions<E>): RunFollower<E> {
  const queue: Entry[] = [];
  const waker = createWaker();
  let closed = false;
  const unsubscribe = opts.bus.subscribe(opts.runId, {
    onEvent: (seq) => {
      const last = queue[queue.length - 1];
      if (last?.kind === 'notice') last.seq = Math.max(last.seq, seq);
      else queue.push({ kind: 'notice', seq });
      waker.wake();
    },
    onDelta: opts.deltas
      ? (delta) => {
          if (queue.length < MAX_QUEUED) queue.push({ kind: 'delta', delta });
          waker.wake();
        }
      : undefined,
  });
  const close = (): void => {
    if (closed) return;
    closed = true;
    unsubscribe();
    waker.wake();
  };

  async function* iterate(): AsyncGenerator<FollowItem<E>> {
    let lastSeq = opts.afterSeq;
    /** Events read but not yet due: a NOTIFY for seq n lets through those up to n. */
    let ahead: E[] = [];
    let ended = false;
    /** Reads up to seq `upTo` (Infinity: all there is); true when the run's terminal event was among them. */
    async function* readUpTo(upTo: number): AsyncGenerator<FollowItem<E>, boolean> {
      for (;;) {
        if (ahead.length === 0) {
          if (lastSeq >= upTo) return false;
          const page = await opts.readPage(lastSeq);
          ahead = page.filter((e) => e.seq > lastSeq);
          if (ahead.length === 0) {
            if (upTo === Infinity) {
              // Resumed at or past the terminal event: nothing more will come.
              const run = await opts.readRun();
              if (!run || (isTerminal(run.status) && lastSeq >= run.last_seq)) return true;
            }
            return false;
          }
          if (page.length < opts.pageSize && upTo === Infinity) upTo = ahead[ahead.length - 1]!.seq;
        }
        while (ahead.length > 0 && ahead[0]!.seq <= upTo) {
          const event = ahead.shift()!;
          lastSeq = event.seq;
          yield { kind: 'event', event };
          if (TERMINAL_EVENTS.includes(event.type)) return true;
        }
        if (ahead.length > 0) return false;
      }
    }
    try {
      if (opts.catchUp !== false) ended = yield* readUpTo(Infinity);
      while (!ended && !closed) {
        const entry = queue.shift();
        if (!entry) {
          await waker.sleep(opts.pollMs);
          if (!closed && queue.length === 0) ended = yield* readUpTo(Infinity);
          continue;
        }
        if (entry.kind === 'delta') yield { kind: 'delta', delta: entry.delta };
        else ended = yield* readUpTo(entry.seq);
      }
    } finally {
      close();
    }
  }

  return { close, [Symbol.asyncIterator]: iterate };
}
