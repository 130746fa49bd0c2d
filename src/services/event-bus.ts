// Live run events for this API process: one LISTEN connection to PostgreSQL fans notifications out to
// the SSE streams and waiters of this process. Workers in any process NOTIFY, so every API process sees
// every run. A lost connection is re-established; subscribers also poll, so a missed notice only delays.
import pg from 'pg';
import type { Logger } from 'pino';
import type { DeltaNotice } from '../domain/event';
import { DELTAS_CHANNEL, EVENTS_CHANNEL, SESSION_EVENTS_CHANNEL, parseSessionNotice } from '../../workflows/definitions';

const EVENTS = EVENTS_CHANNEL;
const DELTAS = DELTAS_CHANNEL;
const SESSION_EVENTS = SESSION_EVENTS_CHANNEL;

export interface RunListener {
  onEvent?(seq: number): void;
  onDelta?(delta: DeltaNotice): void;
}

/** Told of each stored batch of a session's runs: its last session_seq and its run (none after a reconnect). */
export interface SessionListener {
  onEvent(sessionSeq: number, runId: string | undefined): void;
}

export interface EventBus {
  subscribe(runId: string, listener: RunListener): () => void;
  subscribeSession(sessionId: string, listener: SessionListener): () => void;
  close(): Promise<void>;
}

export function createEventBus(connectionString: string, log: Logger): EventBus {
  const listeners = new Map<string, Set<RunListener>>();
  const sessionListeners = new Map<string, Set<SessionListener>>();
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  const dispatch = (msg: pg.Notification): void => {
    if (!msg.payload) return;
    if (msg.channel === EVENTS) {
      const sep = msg.payload.lastIndexOf(':');
      const runId = msg.payload.slice(0, sep);
      const seq = Number(msg.payload.slice(sep + 1));
      for (const l of listeners.get(runId) ?? []) l.onEvent?.(seq);
    } else if (msg.channel === DELTAS) {
      let delta: DeltaNotice;
      try {
        delta = JSON.parse(msg.payload) as DeltaNotice;
      } catch {
        return;
      }
      for (const l of listeners.get(delta.run_id) ?? []) l.onDelta?.(delta);
    } else if (msg.channel === SESSION_EVENTS) {
      const notice = parseSessionNotice(msg.payload);
      if (!notice) return;
      for (const l of sessionListeners.get(notice.session_id) ?? []) l.onEvent(notice.session_seq, notice.run_id);
    }
  };

  const connect = async (): Promise<void> => {
    if (closed) return;
    const c = new pg.Client({ connectionString });
    c.on('notification', dispatch);
    c.on('error', (err) => {
      log.warn({ err: err.message }, 'event bus connection lost; reconnecting');
      c.end().catch(() => undefined);
      if (client === c) client = undefined;
      scheduleReconnect();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${EVENTS}`);
      await c.query(`LISTEN ${DELTAS}`);
      await c.query(`LISTEN ${SESSION_EVENTS}`);
      client = c;
      // Anything published while we were away is picked up by subscribers' polling.
      for (const set of listeners.values()) for (const l of set) l.onEvent?.(0);
      for (const set of sessionListeners.values()) for (const l of set) l.onEvent(0, undefined);
    } catch (err) {
      c.end().catch(() => undefined);
      log.warn({ err: (err as Error).message }, 'event bus could not connect; retrying');
      scheduleReconnect();
    }
  };

  const scheduleReconnect = (): void => {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      void connect();
    }, 1000);
  };

  void connect();

  return {
    subscribe: (runId, listener) => addTo(listeners, runId, listener),
    subscribeSession: (sessionId, listener) => addTo(sessionListeners, sessionId, listener),
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      await client?.end().catch(() => undefined);
    },
  };
}

function addTo<L>(map: Map<string, Set<L>>, key: string, listener: L): () => void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(listener);
  return () => {
    set.delete(listener);
    if (set.size === 0) map.delete(key);
  };
}
