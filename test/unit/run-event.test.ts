// The run-event catalogue (src/domain/run-event.ts) against what the workflows really emitted: every
// event found in the recorded histories (activity inputs and local-activity results) matches its schema.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../../src/domain/event';
import { eventIssues, RUN_EVENT_DATA, runEventSchema } from '../../src/domain/run-event';

const HISTORIES = path.join(__dirname, '..', 'histories');

/** Every `{seq, type, data}` inside the history's JSON payloads. */
function eventsIn(history: unknown): { seq: number; type: string; data: unknown }[] {
  const found: { seq: number; type: string; data: unknown }[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    const meta = o.metadata as Record<string, string> | undefined;
    if (meta?.encoding && typeof o.data === 'string' && Buffer.from(meta.encoding, 'base64').toString() === 'json/plain') {
      visit(JSON.parse(Buffer.from(o.data, 'base64').toString('utf8')));
      return;
    }
    if (typeof o.seq === 'number' && typeof o.type === 'string' && (EVENT_TYPES as readonly string[]).includes(o.type) && o.data && typeof o.data === 'object') {
      found.push({ seq: o.seq, type: o.type, data: o.data });
    }
    Object.values(o).forEach(visit);
  };
  visit(history);
  return found;
}

describe('the run-event catalogue', () => {
  it('has a data schema for every stored event type of API.md 3.2 (message.delta is never stored)', () => {
    expect(Object.keys(RUN_EVENT_DATA).sort()).toEqual(EVENT_TYPES.filter((t) => t !== 'message.delta').sort());
  });

  it('matches every event the workflows emitted in the recorded histories', () => {
    const files = fs.readdirSync(HISTORIES).filter((f) => f.endsWith('.json'));
    const types = new Set<string>();
    const issues: string[] = [];
    for (const f of files) {
      for (const e of eventsIn(JSON.parse(fs.readFileSync(path.join(HISTORIES, f), 'utf8')))) {
        types.add(e.type);
        for (const issue of eventIssues(e.type, e.data)) issues.push(`${f} seq ${e.seq}: ${issue}`);
      }
    }
    expect(issues).toEqual([]);
    // The histories cover most of the catalogue; the suite's teardown checks every stored event as well.
    expect(types.size).toBeGreaterThanOrEqual(15);
  });

  it('refuses an event whose data does not fit its type, with the field named', () => {
    expect(eventIssues('step.started', { step: 'one' })).toEqual([expect.stringContaining('step.started data.step')]);
    expect(eventIssues('tool_call.failed', { tool_call_id: 'tc_1', name: 'x' })).toEqual([expect.stringContaining('data.error')]);
    expect(eventIssues('run.exploded', {})).toEqual(['unknown event type run.exploded']);
    const ok = { id: 'evt_1', object: 'run.event', run_id: 'run_1', seq: 1, session_seq: 4, created_at: '2026-12-02T00:00:00Z' };
    expect(runEventSchema.safeParse({ ...ok, type: 'run.status_changed', data: { from: 'queued', to: 'running' } }).success).toBe(true);
    expect(runEventSchema.safeParse({ ...ok, type: 'run.status_changed', data: { from: 'queued', to: 'exploded' } }).success).toBe(false);
  });
});
