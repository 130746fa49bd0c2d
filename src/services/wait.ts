// Waiting for a run or an action to reach a state: re-read on each NOTIFY for it, at least once a
// second, until the condition holds, the deadline passes or the caller goes away.
import type { EventBus } from './event-bus';

export async function waitUntil<T>(
  bus: EventBus,
  id: string,
  timeoutMs: number,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  signal?: AbortSignal,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let wake: () => void = () => undefined;
  const unsubscribe = bus.subscribe(id, { onEvent: () => wake() });
  try {
    for (;;) {
      const value = await read();
      if (done(value) || Date.now() >= deadline || signal?.aborted) return value;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(1000, Math.max(0, deadline - Date.now())));
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  } finally {
    unsubscribe();
  }
}
