// Replaying recorded run histories against this build's workflow code (Temporal's replayer), plus an
// audit of the history itself: every executed write-tool call must follow an `allow` decision or an
// approval with the same arguments.
import path from 'node:path';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { canonicalJson } from '../domain/policy';
import { dataConverter, decodeAllPayloads, ENCODING, EncryptionCodec } from '../temporal/codec';
import { emittedEventSchema, type EmittedEvent } from '../domain/run-event';

export interface RecordedHistory {
  /** What the line is about: the run id, or the file name. */
  id: string;
  json: { events: unknown[] } & Record<string, unknown>;
}

export interface ReplayVerdict {
  id: string;
  verdict: 'ok' | 'diverged';
  /** On divergence: the replayer's description of the first event that differs. */
  divergence?: string;
  /** Write-tool calls executed without an allow decision or a matching approval. */
  unapproved_writes: { tool_call_id: string; tool: string }[];
}

interface ScheduledInput {
  activityType?: { name?: string };
  input?: { payloads?: { data?: string }[] };
}

function decodePayloads(attrs: ScheduledInput): unknown[] {
  return (attrs.input?.payloads ?? []).map((p) => {
    try {
      return JSON.parse(Buffer.from(p.data ?? '', 'base64').toString('utf8'));
    } catch {
      return undefined;
    }
  });
}

/** Finds executed write-tool calls that no `allow` decision or approval with the same arguments preceded. */
export function unapprovedWrites(json: RecordedHistory['json']): ReplayVerdict['unapproved_writes'] {
  const allowed = new Set<string>();
  const approvedArgs = new Map<string, string>();
  const pendingArgs = new Map<string, string>();
  const out: ReplayVerdict['unapproved_writes'] = [];
  // Read by the run-event catalogue: an event that does not fit its type (a tampered history) decides
  // nothing, so a write it would have allowed is reported.
  const record = (events: unknown[] | undefined): void => {
    for (const raw of events ?? []) {
      const parsed = emittedEventSchema.safeParse(raw);
      if (!parsed.success) continue;
      const ev = parsed.data as EmittedEvent;
      if (ev.type === 'policy.decided' && ev.data.action === 'allow') allowed.add(ev.data.tool_call_id);
      if (ev.type === 'policy.decided' && ev.data.action === 'deny') allowed.delete(ev.data.tool_call_id);
      if (ev.type === 'approval.requested') pendingArgs.set(ev.data.approval.tool_call.id, canonicalJson(ev.data.approval.tool_call.arguments));
      if (ev.type === 'approval.decided' && ev.data.status === 'approved') {
        approvedArgs.set(ev.data.tool_call_id, ev.data.arguments !== undefined ? canonicalJson(ev.data.arguments) : (pendingArgs.get(ev.data.tool_call_id) ?? ''));
      }
    }
  };
  for (const e of json.events as Record<string, unknown>[]) {
    // A local activity (patched 'local-store-activities-v1') leaves a marker with its result, not its input:
    // recordEvents returns its batch's policy and approval events for exactly this check.
    const marker = e.markerRecordedEventAttributes as { markerName?: string; details?: Record<string, ScheduledInput['input']> } | undefined;
    if (marker?.markerName === 'core_local_activity') {
      const [data] = decodePayloads({ input: marker.details?.data }) as [{ activity_type?: string } | undefined];
      const [result] = decodePayloads({ input: marker.details?.result });
      if (data?.activity_type === 'recordEvents') record(result as Parameters<typeof record>[0]);
      if (data?.activity_type === 'recordRunEnd') record((result as { events?: Parameters<typeof record>[0] } | undefined)?.events);
      continue;
    }
    const attrs = e.activityTaskScheduledEventAttributes as ScheduledInput | undefined;
    if (!attrs) continue;
    const name = attrs.activityType?.name;
    const args = decodePayloads(attrs);
    if (name === 'recordEvents' || name === 'recordAction') {
      record((name === 'recordEvents' ? args[1] : args[2]) as Parameters<typeof record>[0]);
    }
    // Patch 'store-with-activity-v1': a model or tool call's input carries the events it stores first (a
    // tool call's own approval.decided among them), so they count before the call is judged.
    record((args[0] as { store?: { events?: Parameters<typeof record>[0] } } | undefined)?.store?.events);
    if (name === 'executeTool') {
      const input = args[0] as { tool: { name: string; effect: string }; tool_call: { id: string; arguments: unknown }; dry_run?: boolean } | undefined;
      // An encrypted call cannot be checked: it is reported, never assumed fine.
      if (!input) out.push({ tool_call_id: 'unknown', tool: 'undecodable payload (replay with AP_MASTER_KEY)' });
      if (!input || input.dry_run || input.tool.effect !== 'write') continue;
      const id = input.tool_call.id;
      const ok = allowed.has(id) || approvedArgs.get(id) === canonicalJson(input.tool_call.arguments);
      if (!ok) out.push({ tool_call_id: id, tool: input.tool.name });
    }
  }
  return out;
}

/** The replayer's error wraps the core's message, which names the first event that differs. */
function firstDifference(message: string): string {
  return message.match(/message: "(\[TMPRL\d+\][^"]*)"/)?.[1] ?? message.split('\n')[0]!;
}

let runtimeInstalled = false;

export async function replayHistories(
  histories: RecordedHistory[],
  workflowsPath = path.resolve(__dirname, '../../workflows/index.ts'),
  masterKeys: Buffer[] = [],
): Promise<ReplayVerdict[]> {
  if (!runtimeInstalled) {
    runtimeInstalled = true;
    try {
      Runtime.install({ logger: new DefaultLogger('ERROR') });
    } catch {
      /* already installed by the caller */
    }
  }
  const failureConverterPath = path.resolve(__dirname, '../temporal/failure-converter.ts');
  const bundle = await bundleWorkflowCode({ workflowsPath, failureConverterPath, logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } });
  // Files exported without the codec hold encrypted payloads: decode them for the approval check.
  if (masterKeys.length) {
    const codec = new EncryptionCodec(masterKeys);
    for (const h of histories) {
      // In a raw export (it holds encrypted payloads) a plaintext signal is one the worker refused: marked
      // as such, as the worker saw it. A decoded export's signals are plaintext because they were decoded.
      const raw = JSON.stringify(h.json).includes(Buffer.from(ENCODING).toString('base64'));
      h.json = JSON.parse(historyToJSON(await decodeAllPayloads(historyFromJSON(h.json), codec, { markRefusedSignals: raw }))) as RecordedHistory['json'];
    }
  }
  const byId = new Map(histories.map((h) => [h.id, h]));
  const verdicts: ReplayVerdict[] = [];
  const input = histories.map((h) => ({ workflowId: h.id, history: historyFromJSON(h.json) }));
  // Lenient: the payloads were decoded above (or the files are decoded exports); the strict codec of the
  // workers would refuse every one of them.
  const converter = masterKeys.length ? dataConverter(masterKeys, { lenient: true }) : { failureConverterPath };
  for await (const r of Worker.runReplayHistories({ workflowBundle: bundle, dataConverter: converter }, input)) {
    const h = byId.get(r.workflowId)!;
    verdicts.push({
      id: r.workflowId,
      verdict: r.error ? 'diverged' : 'ok',
      ...(r.error ? { divergence: firstDifference(String((r.error as Error).message ?? r.error)) } : {}),
      unapproved_writes: unapprovedWrites(h.json),
    });
  }
  return verdicts;
}
