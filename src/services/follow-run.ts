// Following a run as it happens: its stored events after a seq, then the new ones as their NOTIFY comes
// (and a poll, for a NOTIFY lost while the bus reconnected), with the live token deltas between them, in
// the order the bus delivered them, until the terminal event. The SSE route, the OpenAI-compatible stream
// and `wait: true` (runs.ts waitForRun) all read a run this way; a session's log (followSession) is read
// the same way, by session_seq, across the session's runs.
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

/** What a follower is told: a stored batch up to a seq, or a token delta. */
export interface LogListener {
  onNotice(seq: number): void;
  onDelta?: (delta: DeltaNotice) => void;
}

/** A numbered log to follow: a run's events by seq, or a session's by session_seq. */
export interface FollowLogOptions<E> extends Pick<FollowOptions<E>, 'afterSeq' | 'deltas' | 'readPage' | 'pageSize' | 'pollMs' | 'catchUp'> {
  /** Subscribes the follower; returns the unsubscribe. Called once, when the follower is made. */
  subscribe(listener: LogListener): () => void;
  /** The event after which nothing more comes: a run's terminal event (a session's log has none). */
  isLast(event: E): boolean;
  /** When a read at the end finds nothing new: whether nothing more will come after `lastSeq`. */
  isOver(lastSeq: number): Promise<boolean>;
}

export interface RunFollower<E> extends AsyncIterable<FollowItem<E>> {
  /** Ends the iteration at its next step and unsubscribes; safe to call more than once. */
  close(): void;
}

/** At most this many entries wait to be read: beyond it, deltas are dropped (the stored events are not). */
const MAX_QUEUED = 10_000;

type Entry = { kind: 'notice'; seq: number } | { kind: 'delta'; delta: DeltaNotice };

export function followRun<E extends FollowedEvent>(opts: FollowOptions<E>): RunFollower<E> {
  return followLog<E>({
    ...opts,
    subscribe: (l) => opts.bus.subscribe(opts.runId, { onEvent: l.onNotice, onDelta: l.onDelta }),
    isLast: (event) => TERMINAL_EVENTS.includes(event.type),
    isOver: async (lastSeq) => {
      // Resumed at or past the terminal event: nothing more will come.
      const run = await opts.readRun();
      return !run || (isTerminal(run.status) && lastSeq >= run.last_seq);
    },
  });
}

export function followLog<E extends FollowedEvent>(opts: FollowLogOptions<E>): RunFollower<E> {
  const queue: Entry[] = [];
  const waker = createWaker();
  let closed = false;
  const unsubscribe = opts.subscribe({
    onNotice: (seq) => {
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
    /** Reads up to seq `upTo` (Infinity: all there is); true when the log's last event was among them. */
    async function* readUpTo(upTo: number): AsyncGenerator<FollowItem<E>, boolean> {
      for (;;) {
        if (ahead.length === 0) {
          if (lastSeq >= upTo) return false;
          const page = await opts.readPage(lastSeq);
          ahead = page.filter((e) => e.seq > lastSeq);
          if (ahead.length === 0) return upTo === Infinity && (await opts.isOver(lastSeq));
          if (page.length < opts.pageSize && upTo === Infinity) upTo = ahead[ahead.length - 1]!.seq;
        }
        while (ahead.length > 0 && ahead[0]!.seq <= upTo) {
          const event = ahead.shift()!;
          lastSeq = event.seq;
          yield { kind: 'event', event };
          if (opts.isLast(event)) return true;
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

/** Runs of a session whose deltas a session follower keeps listening to: only one runs at a time. */
const WATCHED_RUNS = 4;

export interface SessionFollowOptions<E> extends Pick<FollowOptions<E>, 'bus' | 'afterSeq' | 'deltas' | 'readPage' | 'pageSize' | 'pollMs'> {
  sessionId: string;
  /** The session's unfinished run when the follower is made, whose deltas it hears from the start. */
  activeRunId?: string;
  /** Whether the session is gone (deleted): then its log has ended. */
  isGone: () => Promise<boolean>;
}

export interface SessionFollower<E> extends RunFollower<E> {
  /** Hears this run's deltas from now on (a run about to start in the session); else from its first stored batch. */
  watchRun(runId: string): void;
}

/**
 * Following a session's log: its events in session_seq order across its runs, never ending while the
 * session exists. A run's deltas are heard from its first stored batch's notice on (the batch is stored
 * before the model is called), or earlier through watchRun.
 */
export function followSession<E extends FollowedEvent>(opts: SessionFollowOptions<E>): SessionFollower<E> {
  let watchRun: (runId: string) => void = () => undefined;
  const follower = followLog<E>({
    ...opts,
    subscribe: (l) => {
      const watched = new Map<string, () => void>();
      watchRun = (runId) => {
        if (!l.onDelta || watched.has(runId)) return;
        watched.set(runId, opts.bus.subscribe(runId, { onDelta: l.onDelta }));
        for (const [oldest, off] of watched) {
          if (watched.size <= WATCHED_RUNS) break;
          off();
          watched.delete(oldest);
        }
      };
      if (opts.activeRunId) watchRun(opts.activeRunId);
      const off = opts.bus.subscribeSession(opts.sessionId, {
        onEvent: (seq, runId) => {
          if (runId) watchRun(runId);
          l.onNotice(seq);
        },
      });
      return () => {
        off();
        for (const stop of watched.values()) stop();
        watched.clear();
      };
    },
    isLast: () => false,
    isOver: () => opts.isGone(),
  });
  return { ...follower, watchRun: (runId) => watchRun(runId) };
}

/**
 * For a create that answers by following its run: the follower is made as the run's id is chosen
 * (`hooks.beforeStart`), before its workflow starts, so that a fast model's first deltas are not sent
 * before anyone listens. `take` hands it over for the run the create answered with; an idempotent retry
 * of an existing run (no beforeStart, or another id) gets none, and the caller follows it from what is
 * stored. `close` closes a follower not taken.
 */
export function earlyFollower<E>(make: (runId: string) => RunFollower<E>) {
  let made: { runId: string; follower: RunFollower<E> } | undefined;
  let taken = false;
  return {
    hooks: {
      beforeStart: (runId: string): void => {
        made?.follower.close();
        made = { runId, follower: make(runId) };
      },
    },
    take: (runId: string): RunFollower<E> | undefined => {
      if (made?.runId !== runId) return undefined;
      taken = true;
      return made.follower;
    },
    close: (): void => {
      if (!taken) made?.follower.close();
    },
  };
}
