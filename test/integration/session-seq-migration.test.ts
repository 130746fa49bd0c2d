// Migration 0023 on a database that already has events (an upgrade): each session's stored events get
// session_seq 1..n in the order they were stored, across the session's runs, and the event store goes
// on from there.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate';
import { createPool, type Db } from '../../src/db/pool';
import * as runs from '../../src/db/runs';
import type { PendingEvent } from '../../src/domain/event';
import { env } from '../support/api';

const MIGRATIONS = path.resolve(__dirname, '../../src/db/migrations');
const dbName = `ap_seqmig_${Date.now()}_${process.pid}`;
let db: Db | undefined;

afterAll(async () => {
  await db?.end();
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
});

function serverUrl(): string {
  const u = new URL(env().databaseUrl);
  u.pathname = '/postgres';
  return u.toString();
}

/** The schema as it was before migration 0023, recorded as applied. */
async function migrateBefore(c: Db, first: string): Promise<void> {
  await c.query('CREATE TABLE schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
  for (const file of fs.readdirSync(MIGRATIONS).filter((f) => /^\d{4}_.+\.sql$/.test(f) && f < first).sort()) {
    await c.query(fs.readFileSync(path.join(MIGRATIONS, file), 'utf8'));
    await c.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
  }
}

describe('migration 0023 (session_seq)', () => {
  it('numbers existing events per session in stored order across runs; new batches continue the count', async () => {
    const admin = new pg.Client({ connectionString: serverUrl() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    await admin.end();
    const u = new URL(serverUrl());
    u.pathname = `/${dbName}`;
    db = createPool(u.toString(), 2);
    await migrateBefore(db, '0023');

    await db.query(`INSERT INTO workspaces (id, name) VALUES ('ws_1', 'w')`);
    await db.query(`INSERT INTO agents (id, workspace_id, name, current_version) VALUES ('agt_1', 'ws_1', 'a', 1)`);
    for (const s of ['ses_a', 'ses_b']) {
      await db.query(`INSERT INTO sessions (id, workspace_id, agent_id, agent_version) VALUES ($1, 'ws_1', 'agt_1', 1)`, [s]);
    }
    const run = (id: string, session: string) =>
      db!.query(`INSERT INTO runs (id, workspace_id, session_id, agent_id, agent_version, workflow_id, status, input, constraints, usage, metadata)
                 VALUES ($1, 'ws_1', $2, 'agt_1', 1, $1, 'completed', '[]', '{}', '{}', '{}')`, [id, session]);
    await run('run_1', 'ses_a');
    await run('run_2', 'ses_a');
    await run('run_3', 'ses_b');
    // Stored in this order (created_at): run_1's first two events, run_2's first, run_1's last, ...
    const stored: [string, number, number][] = [['run_1', 1, 0], ['run_1', 2, 1], ['run_3', 1, 2], ['run_2', 1, 3], ['run_1', 3, 4], ['run_2', 2, 5]];
    for (const [runId, seq, at] of stored) {
      await db.query(`INSERT INTO run_events (run_id, seq, id, type, data, created_at) VALUES ($1, $2, $3, 'step.started', '{"step": 1}', '2026-12-01T00:00:00Z'::timestamptz + make_interval(secs => $4))`, [runId, seq, `evt_${runId}_${seq}`, at]);
    }

    expect(await migrate(db)).toContain('0023_session_event_log.sql');
    const rows = (await db.query<{ id: string; session_id: string; session_seq: string }>('SELECT id, session_id, session_seq FROM run_events ORDER BY session_id, session_seq')).rows;
    expect(rows.map((r) => [r.session_id, Number(r.session_seq), r.id])).toEqual([
      ['ses_a', 1, 'evt_run_1_1'],
      ['ses_a', 2, 'evt_run_1_2'],
      ['ses_a', 3, 'evt_run_2_1'],
      ['ses_a', 4, 'evt_run_1_3'],
      ['ses_a', 5, 'evt_run_2_2'],
      ['ses_b', 1, 'evt_run_3_1'],
    ]);
    const counters = (await db.query<{ id: string; event_seq: string; if_busy: string }>('SELECT id, event_seq, if_busy FROM sessions ORDER BY id')).rows;
    expect(counters.map((s) => [s.id, Number(s.event_seq), s.if_busy])).toEqual([['ses_a', 5, 'reject'], ['ses_b', 1, 'reject']]);

    // The event store goes on from the counter, and a retried batch numbers nothing twice.
    const batch: (PendingEvent & { id: string })[] = [{ seq: 3, type: 'step.completed', data: { step: 1 }, id: 'evt_new_1' }, { seq: 4, type: 'run.completed', data: {}, id: 'evt_new_2' }];
    for (let attempt = 0; attempt < 2; attempt++) {
      const c = await db.connect();
      try {
        await c.query('BEGIN');
        const locked = (await runs.getRunForEventBatch(c, 'run_2', 'no key update'))!;
        expect(await runs.insertEvents(c, locked, locked.session_event_seq, batch.map((e) => ({ ...e, id: `${e.id}_${attempt}` })))).toBe('7');
        await c.query('COMMIT');
      } finally {
        c.release();
      }
    }
    const after = (await db.query<{ run_id: string; seq: number; session_seq: string }>(`SELECT run_id, seq, session_seq FROM run_events WHERE session_id = 'ses_a' ORDER BY session_seq`)).rows;
    expect(after.map((r) => Number(r.session_seq))).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(after.slice(5).map((r) => [r.run_id, r.seq])).toEqual([['run_2', 3], ['run_2', 4]]);
  });
});
