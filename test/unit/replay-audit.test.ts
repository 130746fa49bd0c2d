// The replay audit (src/services/replay.ts unapprovedWrites) reads a history's governance events by the
// run-event catalogue: an approval whose event does not fit its type (a tampered history) approves nothing.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { unapprovedWrites } from '../../src/services/replay';

const HISTORY = path.join(__dirname, '..', 'histories', 'approval-granted.json');

type Payload = { metadata: { encoding: string }; data: string };

/** Rewrites, in every JSON payload of the history, each event of `type` with `change`. */
function tamper(history: { events: unknown[] }, type: string, change: (data: Record<string, unknown>) => void): number {
  let changed = 0;
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (typeof o.data === 'string' && (o as Payload).metadata?.encoding === Buffer.from('json/plain').toString('base64')) {
      const value = JSON.parse(Buffer.from(o.data, 'base64').toString('utf8')) as unknown;
      const walk = (x: unknown): void => {
        if (Array.isArray(x)) return x.forEach(walk);
        if (!x || typeof x !== 'object') return;
        const e = x as { type?: unknown; data?: Record<string, unknown> };
        if (e.type === type && e.data) {
          change(e.data);
          changed++;
        }
        Object.values(x).forEach(walk);
      };
      walk(value);
      o.data = Buffer.from(JSON.stringify(value)).toString('base64');
      return;
    }
    Object.values(o).forEach(visit);
  };
  visit(history);
  return changed;
}

describe('replay audit', () => {
  it('finds no unapproved write in the recorded approval', () => {
    const history = JSON.parse(fs.readFileSync(HISTORY, 'utf8')) as { events: unknown[] };
    expect(unapprovedWrites(history)).toEqual([]);
  });

  it('an approval.decided event off the catalogue approves nothing: the write is reported', () => {
    const history = JSON.parse(fs.readFileSync(HISTORY, 'utf8')) as { events: unknown[] };
    // Still says "approved", but who decided is no longer a decider: not an event the workflow emits.
    expect(tamper(history, 'approval.decided', (d) => void (d.decided_by = 'nobody'))).toBeGreaterThan(0);
    const found = unapprovedWrites(history);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ tool: 'ticket' });
  });
});
