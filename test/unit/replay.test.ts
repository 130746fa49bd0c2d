// Every recorded history in test/histories/ replays against the current workflow code: a workflow change
// that would break runs already in flight fails here unless it is guarded by patched().
import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { describe, expect, it } from 'vitest';
import { workflowBundle } from '../../src/temporal/connection';

// The replayer logs every worker state change at INFO; warnings are enough here.
Runtime.install({ logger: new DefaultLogger('WARN') });

const DIR = path.resolve(__dirname, '../histories');
const WORKFLOWS = path.resolve(__dirname, '../../workflows');
const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

type HistoryJson = { events: Record<string, any>[] };
const readHistory = (f: string): HistoryJson => JSON.parse(fs.readFileSync(path.join(DIR, f), 'utf8')) as HistoryJson;
const decoded = (p: { data?: string } | undefined): any => (p?.data ? JSON.parse(Buffer.from(p.data, 'base64').toString('utf8')) : undefined);

/** The patch ids of a history's markers, in order. */
const patchMarkers = (h: HistoryJson): string[] =>
  h.events.flatMap((e) => (e.markerRecordedEventAttributes?.markerName === 'core_patch' ? [decoded(e.markerRecordedEventAttributes.details['patch-data'].payloads[0]).id as string] : []));

/** The run events a model or tool call was handed to store first (patch store-with-activity-v1). */
const storedEvents = (h: HistoryJson): { type: string; data: Record<string, unknown> }[] =>
  h.events.flatMap((e) => decoded(e.activityTaskScheduledEventAttributes?.input?.payloads?.[0])?.store?.events ?? []);

/**
 * Every patch id of workflows/*.ts: its `*_PATCH` constants and the literals given to patched(); and the
 * names asked as a patch that the file does not declare (they would escape the list: none may exist).
 */
function declaredPatches(): { ids: Set<string>; undeclared: string[] } {
  const ids = new Set<string>();
  const undeclared: string[] = [];
  for (const f of fs.readdirSync(WORKFLOWS).filter((n) => n.endsWith('.ts'))) {
    const src = fs.readFileSync(path.join(WORKFLOWS, f), 'utf8');
    const consts = new Map([...src.matchAll(/\bconst\s+([A-Z][A-Z0-9_]*_PATCH)\s*=\s*'([^']+)'/g)].map((m) => [m[1]!, m[2]!]));
    for (const id of consts.values()) ids.add(id);
    for (const m of src.matchAll(/\b(?:patched|deprecatePatch)\(\s*'([^']+)'/g)) ids.add(m[1]!);
    for (const m of src.matchAll(/\b(?:patched|deprecatePatch|has)\(\s*([A-Z][A-Z0-9_]*)\s*\)/g)) if (!consts.has(m[1]!)) undeclared.push(`${f}: ${m[1]}`);
  }
  return { ids, undeclared };
}

/** The results of a history's completed activities. */
const activityResults = (h: HistoryJson): any[] => h.events.flatMap((e) => (e.activityTaskCompletedEventAttributes ? [decoded(e.activityTaskCompletedEventAttributes.result?.payloads?.[0])] : []));

/**
 * Patches that only a new run can take, and a run's run-patches-current-v1 (or -v2) answers them without a
 * marker of their own (store-with-activity-v1 is the run's; the RE2 patch is asked only when a rule has
 * `matches`, and an action has no rules; answer-stored-with-model-v1 came with -v2). No run was recorded
 * between them and that patch, so no history can hold their markers: each names a history under the
 * current patch that covers it and what shows that it took the new path.
 */
const UNDER_CURRENT_PATCH: Record<string, { history: string; marker: string; takes: (h: HistoryJson) => boolean }> = {
  // The events before a model or tool call are stored by that activity.
  'store-with-activity-v1': { history: 'approval-granted-current-patches.json', marker: 'run-patches-current-v1', takes: (h) => storedEvents(h).length > 0 },
  // A rule with `matches` decided a call (the RE2 patch is asked only then).
  'policy-matches-re2-v1': { history: 'policy-matches-current-patches.json', marker: 'run-patches-current-v1', takes: (h) => storedEvents(h).some((ev) => ev.type === 'policy.decided' && ev.data.rule_id === 'no-x') },
  // The model activity stored the run's end with the answer (its result says so), and no local activity followed.
  'answer-stored-with-model-v1': {
    history: 'plain-answer-current-v2.json',
    marker: 'run-patches-current-v2',
    takes: (h) => activityResults(h).some((r) => r?.finished?.status === 'completed') && !h.events.some((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity'),
  },
};

describe('recorded histories', () => {
  it('cover the representative runs', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        // recorded before the governance-v1 patch
        'plain-answer.json', 'read-tools-and-invalid-arguments.json', 'write-tool-refused.json', 'max-steps-exceeded.json', 'canceled-during-tool.json',
        // recorded with it
        'approval-granted.json', 'approval-denied.json', 'approval-edited.json', 'approval-expired-fail.json', 'client-tool.json', 'action-invocation-approved.json',
        // and with timeout-pauses-for-people-v1
        'approval-granted-timeout-paused.json', 'approval-expired-deny.json', 'max-tool-calls-exceeded.json', 'budget-exceeded-max-tokens.json', 'timeout.json',
        // and with search-attributes-v1 (status changes upserted as ApRunStatus)
        'approval-granted-search-attributes.json',
        // with skill-loaded-event-v1, the eval workflow, and a dry-run eval case (eval-dry-run-v1)
        'skill-loaded.json', 'eval-workflow.json', 'eval-dry-run-write-tool.json',
        // with oauth-connections-v1 (waiting_auth until the user authorized)
        'oauth-authorization-completed.json',
        // with approval-decision-proof-v1 (a decision counts only with the API's proof; edited arguments re-validated)
        'approval-granted-proof.json', 'approval-denied-proof.json', 'approval-forged-refused-then-granted.json', 'approval-edited-invalid-arguments.json',
        // with early-decisions-kept-v1 (a decision signaled before its approval was requested is kept and applied)
        'action-invocation-early-decision-kept.json',
        // with tool-result-cached-v1 (a read tool's call answered from the tool result cache: cached: true)
        'tool-result-cached.json',
        // with run-patches-current-v2 (answer-stored-with-model-v1: the answer's model call stores the run's end),
        // and a cancel racing that end either way (test/integration/run-end-race.test.ts)
        'plain-answer-current-v2.json', 'read-tools-current-v2.json', 'canceled-during-tool-current-v2.json', 'approval-granted-current-v2.json',
        'answer-stored-then-canceled.json', 'canceled-then-answer-refused.json',
      ]),
    );
  });

  // A patched() branch that no history takes is never checked by the replay below (issue 19, item 2).
  it('take the new path of every patch in workflows/: each patch id is the id of a marker in some history', () => {
    const { ids, undeclared } = declaredPatches();
    expect(undeclared).toEqual([]);
    expect([...ids]).toEqual(expect.arrayContaining(['run-patches-current-v1', ...Object.keys(UNDER_CURRENT_PATCH)]));
    const marked = new Set(files.flatMap((f) => patchMarkers(readHistory(f))));
    expect([...ids].filter((id) => !marked.has(id) && !UNDER_CURRENT_PATCH[id])).toEqual([]);
    for (const [id, { history, marker, takes }] of Object.entries(UNDER_CURRENT_PATCH)) {
      const h = readHistory(history);
      expect(patchMarkers(h), id).toContain(marker);
      expect(takes(h), id).toBe(true);
    }
  });

  it('all replay without nondeterminism against this build', async () => {
    const histories = files.map((f) => ({ workflowId: f, history: historyFromJSON(JSON.parse(fs.readFileSync(path.join(DIR, f), 'utf8'))) }));
    const results: { id: string; error?: string }[] = [];
    for await (const r of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
      results.push({ id: r.workflowId, ...(r.error ? { error: String(r.error) } : {}) });
    }
    expect(results).toEqual(files.map((f) => ({ id: f })));
  }, 120_000);

  it('a changed workflow is detected as a divergence (the check can fail)', async () => {
    const history = JSON.parse(fs.readFileSync(path.join(DIR, 'plain-answer.json'), 'utf8')) as { events: { activityTaskScheduledEventAttributes?: { activityType?: { name: string } } }[] };
    const scheduled = history.events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'loadRunContext');
    scheduled!.activityTaskScheduledEventAttributes!.activityType!.name = 'someOtherActivity';
    const results = [];
    for await (const r of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, [{ workflowId: 'tampered', history: historyFromJSON(history) }])) results.push(r);
    expect(results[0]!.error).toBeDefined();
  }, 120_000);
});
