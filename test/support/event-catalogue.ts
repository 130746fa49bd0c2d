// The last word on the run-event catalogue (src/domain/run-event.ts): every event that the whole suite
// stored, runs' and action invocations', must match its type's data schema. The event store only logs a
// mismatch (a user's run is not failed over it); this check makes one fail `npm test`.
import pg from 'pg';
import { eventIssues } from '../../src/domain/run-event';

export async function eventsOffCatalogue(databaseUrl: string): Promise<{ checked: number; issues: string[] }> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const { rows } = await db.query<{ owner: string; seq: number; type: string; data: unknown }>(
      `SELECT run_id AS owner, seq, type, data FROM run_events
       UNION ALL
       SELECT a.id, (e->>'seq')::int, e->>'type', e->'data' FROM action_invocations a, jsonb_array_elements(a.events) e`,
    );
    const issues: string[] = [];
    const seen = new Set<string>();
    for (const r of rows) {
      for (const issue of eventIssues(r.type, r.data)) {
        // One line per kind of mismatch, with the first event that has it.
        if (seen.has(issue)) continue;
        seen.add(issue);
        issues.push(`${issue} (${r.owner} seq ${r.seq})`);
      }
    }
    return { checked: rows.length, issues };
  } finally {
    await db.end();
  }
}
