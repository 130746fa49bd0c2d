// Waiting for a run or an action to reach a state: re-read on each NOTIFY for it, at least once a
// second, until the condition holds, the deadline passes or the caller goes away.
import type { EventBus } from './event-bus';

/**
 * A wake-up that is not lost: a wake() while nobody waits (the reader is still querying, say) makes the
 * next sleep() return at once. A NOTIFY that came during the read used to be dropped, and the reader slept
 * to its poll interval (up to a second for `wait: true`, two for a stream) before seeing the change.
 */
export function createWaker(): { wake(): void; sleep(ms: number): Promise<void> } {
  let woken = false;
  let resolveSleep: (() => void) | undefined;
  return {
    wake() {
      woken = true;
      resolveSleep?.();
    },
    sleep(ms) {
      if (woken) {
        woken = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const t = setTimeout(done, ms);
        function done(): void {
          clearTimeout(t);
          woken = false;
          resolveSleep = undefined;
          resolve();
        }
        resolveSleep = done;
      });
    },
  };
}

export async function waitUntil<T>(
  bus: EventBus,
  id: string,
  timeoutMs: number,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  signal?: AbortSignal,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const waker = createWaker();
  const unsubscribe = bus.subscribe(id, { onEvent: () => waker.wake() });
  try {
    for (;;) {
      const value = await read();
      if (done(value) || Date.now() >= deadline || signal?.aborted) return value;
      await waker.sleep(Math.min(1000, Math.max(0, deadline - Date.now())));
    }
  } finally {
    unsubscribe();
  }
}
