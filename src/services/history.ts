// A run's Temporal history as JSON (the proto3 JSON that `temporal workflow show --output json` prints),
// for auditors: replayable with `ap replay`.
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { Principal } from '../domain/workspace';
import type { ServiceDeps } from './deps';
import { getRunRow } from './runs';
import { temporalCall } from './temporal-errors';
import { decodeAllPayloads } from '../temporal/codec';
import { engineOf } from '../temporal/engine';

export async function runHistory(deps: ServiceDeps, p: Principal, runId: string): Promise<Record<string, unknown>> {
  const run = await getRunRow(deps, p, runId);
  const history = await temporalCall(() => engineOf(deps.temporal).history(run.workflow_id));
  // Payloads are stored encrypted; the auditor gets them decoded (still replayable).
  await decodeAllPayloads(history, deps.codec);
  return { workflow_id: run.workflow_id, run_id: run.id, ...(JSON.parse(historyToJSON(history)) as Record<string, unknown>) };
}
