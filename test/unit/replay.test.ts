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
const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

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
      ]),
    );
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
