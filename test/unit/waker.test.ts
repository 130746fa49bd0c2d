// The wake-up of waiting readers (wait: true, run streams, chat streams): a NOTIFY that arrives while the
// reader is still querying must not be lost, or the reader sleeps to its poll interval (issue 18).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createWaker } from '../../src/services/wait';

describe('createWaker', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  const settled = async (p: Promise<void>): Promise<boolean> => {
    let done = false;
    void p.then(() => (done = true));
    await vi.advanceTimersByTimeAsync(0);
    return done;
  };

  it('a wake while nobody sleeps ends the next sleep at once, and only that one', async () => {
    const w = createWaker();
    w.wake();
    expect(await settled(w.sleep(1000))).toBe(true);
    const next = w.sleep(1000);
    expect(await settled(next)).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await settled(next)).toBe(true);
  });

  it('a wake during a sleep ends it; without one it ends at its timeout', async () => {
    const w = createWaker();
    const sleeping = w.sleep(5000);
    expect(await settled(sleeping)).toBe(false);
    w.wake();
    expect(await settled(sleeping)).toBe(true);
    const again = w.sleep(5000);
    await vi.advanceTimersByTimeAsync(4999);
    expect(await settled(again)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(again)).toBe(true);
  });
});
