// Run feedback: one row per run and key, replaced in place by a second post with the same key.
import type { Queryable } from './pool';
import type { FeedbackSummary } from '../domain/feedback';

export interface FeedbackRow {
  id: string;
  run_id: string;
  key: string;
  rating: 1 | -1;
  comment: string | null;
  created_at: Date;
  updated_at: Date;
}

/**
 * Inserts or replaces the feedback of `key` on the run, only if the run is in the workspace (undefined
 * when it is not). `inserted` says whether the row is new; a replacement keeps its id and created_at.
 */
export async function upsertFeedback(
  q: Queryable,
  ws: string,
  f: Pick<FeedbackRow, 'id' | 'run_id' | 'key' | 'rating' | 'comment'>,
): Promise<(FeedbackRow & { inserted: boolean }) | undefined> {
  try {
    return (
      await q.query<FeedbackRow & { inserted: boolean }>(
        `INSERT INTO run_feedback (id, run_id, key, rating, comment)
         SELECT $1, r.id, $3, $4, $5 FROM runs r WHERE r.id = $2 AND r.workspace_id = $6
         ON CONFLICT (run_id, key) DO UPDATE SET rating = EXCLUDED.rating, comment = EXCLUDED.comment, updated_at = now()
         RETURNING *, (xmax = 0) AS inserted`,
        [f.id, f.run_id, f.key, f.rating, f.comment, ws],
      )
    ).rows[0];
  } catch (err) {
    // The run (its session) was deleted between the SELECT and the foreign-key check: as good as absent.
    if ((err as { code?: string }).code === '23503') return undefined;
    throw err;
  }
}

/** Newest first (by first creation: a replacement keeps its place); `after` is the id of an earlier page's last row. */
export async function listFeedback(q: Queryable, runId: string, limit: number, after?: string): Promise<FeedbackRow[]> {
  return (
    await q.query<FeedbackRow>('SELECT * FROM run_feedback WHERE run_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3', [
      runId,
      after ?? null,
      limit,
    ])
  ).rows;
}

/** Counts for many runs in one query; runs without feedback are absent from the map. */
export async function summaries(q: Queryable, runIds: string[]): Promise<Map<string, FeedbackSummary>> {
  if (runIds.length === 0) return new Map();
  const rows = (
    await q.query<{ run_id: string } & FeedbackSummary>(
      `SELECT run_id, count(*)::int AS count, (count(*) FILTER (WHERE rating = 1))::int AS up, (count(*) FILTER (WHERE rating = -1))::int AS down
         FROM run_feedback WHERE run_id = ANY($1::text[]) GROUP BY run_id`,
      [runIds],
    )
  ).rows;
  return new Map(rows.map(({ run_id, ...s }) => [run_id, s]));
}
