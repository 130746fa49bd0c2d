// The run's timeout: a workflow timer from the run's start that cancels the run's body when it fires;
// under its patch it stops while the run waits for a person (an approval, a client tool, an authorization).
import { CancellationScope, sleep } from '@temporalio/workflow';
import type { RunScope } from './run-scope';

/** Patch: the run timeout stops while the run waits for an approval or a client tool. */
const PAUSABLE_TIMEOUT_PATCH = 'timeout-pauses-for-people-v1';

export interface Deadline {
  pause(): void;
  resume(): void;
}

/** Starts the run's timeout (run.timeoutSeconds); when it fires the run is marked timed out and `body` canceled. Call it inside `body`. */
export function startTimeout(run: RunScope, body: CancellationScope): void {
  const expire = (): void => {
    run.timedOut = true;
    body.cancel();
  };
  if (run.has(PAUSABLE_TIMEOUT_PATCH)) {
    run.deadline = pausableDeadline(run.timeoutSeconds * 1000, expire);
  } else {
    sleep(run.timeoutSeconds * 1000).then(expire).catch(() => undefined);
  }
}

/** A timer that can stop and go on: each pause cancels the running sleep and keeps what was left. */
function pausableDeadline(ms: number, onExpire: () => void): Deadline {
  let remaining = ms;
  let started = 0;
  let scope: CancellationScope | undefined;
  const arm = (): void => {
    started = Date.now();
    const s = new CancellationScope();
    scope = s;
    s.run(() => sleep(remaining))
      .then(() => {
        if (scope === s) onExpire();
      })
      .catch(() => undefined);
  };
  arm();
  return {
    pause() {
      if (!scope) return;
      const s = scope;
      scope = undefined;
      s.cancel();
      remaining = Math.max(1, remaining - (Date.now() - started));
    },
    resume() {
      if (!scope) arm();
    },
  };
}
