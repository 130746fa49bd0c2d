// Retention: the content of runs that ended longer ago than the retention period is purged (events,
// transcript, input and output, approval arguments and previews, the tool answers they left in the tool
// result cache, and every expired cache entry). What remains is the run's status,
// usage and error, its feedback (run_feedback: a verdict on the run, not its content; it goes only with
// the run row), and the audit log's record that the purge happened.
import { appendAudit } from '../db/audit';
import type { Db } from '../db/pool';
import type { KeyedMac } from '../security/secrets';
import { transaction } from '../db/pool';
import { deleteCachedResults } from '../db/tool-result-cache';

export async function purgeEndedRuns(db: Db, audit: KeyedMac, olderThanSeconds: number, workspaceId?: string): Promise<number> {
  const purged = await transaction(db, async (c) => {
    const runs = await c.query<{ id: string; workspace_id: string }>(
      `SELECT id, workspace_id FROM runs WHERE status IN ('completed', 'failed', 'canceled') AND content_purged_at IS NULL
          AND completed_at < now() - make_interval(secs => $1) AND ($2::text IS NULL OR workspace_id = $2) FOR UPDATE`,
      [olderThanSeconds, workspaceId ?? null],
    );
    const ids = runs.rows.map((r) => r.id);
    // Even when no run is due: expired cache entries go at every purge (a workspace that stopped storing keeps none).
    await deleteCachedResults(c, ids, workspaceId);
    if (ids.length === 0) return [];
    await c.query('DELETE FROM run_events WHERE run_id = ANY($1)', [ids]);
    await c.query('DELETE FROM session_messages WHERE run_id = ANY($1)', [ids]);
    await c.query(
      `UPDATE approvals SET tool_call = jsonb_set(tool_call, '{arguments}', '{}'::jsonb), preview = NULL,
              decision = CASE WHEN decision ? 'arguments' THEN decision - 'arguments' ELSE decision END WHERE run_id = ANY($1)`,
      [ids],
    );
    await c.query(`UPDATE client_tool_calls SET arguments = '{}' WHERE run_id = ANY($1)`, [ids]);
    // Webhook payloads carry the run (or the approval's arguments): keep the record, drop the content.
    await c.query(
      `UPDATE webhook_deliveries SET payload = jsonb_set(payload, '{data}', jsonb_build_object('id', payload->'data'->'id', 'run_id', payload->'data'->'run_id', 'purged', true))
        WHERE (payload->'data'->>'id') = ANY($1) OR (payload->'data'->>'run_id') = ANY($1)`,
      [ids],
    );
    await c.query(`UPDATE runs SET input = '[]', output = '[]', output_text = NULL, cancel_reason = NULL, content_purged_at = now() WHERE id = ANY($1)`, [ids]);
    return runs.rows;
  });
  const byWorkspace = new Map<string, number>();
  for (const r of purged) byWorkspace.set(r.workspace_id, (byWorkspace.get(r.workspace_id) ?? 0) + 1);
  for (const [ws, count] of byWorkspace) {
    await appendAudit(db, audit, {
      workspace_id: ws,
      actor: { key_id: null, name: 'retention', roles: [] },
      action: 'retention.purge',
      target: null,
      request_id: null,
      data: { runs: count, older_than_seconds: olderThanSeconds },
    });
  }
  return purged.length;
}
