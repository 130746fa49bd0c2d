// Heartbeats on a short interval while an activity waits on the network: without them an activity never
// learns that its run was canceled, and a dead worker is only noticed after the heartbeat timeout.
import { Context } from '@temporalio/activity';

export function startHeartbeat(intervalMs = 300): () => void {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(), intervalMs);
  return () => clearInterval(timer);
}
