// Run feedback (API.md 12): given on a run of the caller's workspace (developers and admins, checked by the
// route), one per key per run; read by every role; summarised on run objects, eval results and the
// dashboard's run page. Another workspace's run is 404 like every run route.
import type { Db, Queryable } from '../db/pool';
import * as repo from '../db/feedback';
import * as runRepo from '../db/runs';
import { newId } from '../db/ids';
import { notFound } from '../domain/errors';
import { isoDate } from '../domain/common';
import { emptyFeedbackSummary, type FeedbackCreate, type FeedbackListQuery, type FeedbackSummary } from '../domain/feedback';
import type { Principal } from '../domain/workspace';
import { page } from './deps';

export const feedbackView = (f: repo.FeedbackRow) => ({
  id: f.id,
  object: 'run.feedback' as const,
  run_id: f.run_id,
  key: f.key,
  rating: f.rating,
  comment: f.comment,
  created_at: isoDate(f.created_at),
  updated_at: isoDate(f.updated_at),
});
export type FeedbackView = ReturnType<typeof feedbackView>;

/** The counts and the newest `items` (the run object's `feedback`). */
export type RunFeedback = FeedbackSummary & { items: FeedbackView[] };

/** `created` is false when the key's earlier feedback was replaced (rating and comment; created_at stays). */
export async function giveFeedback(db: Db, p: Principal, runId: string, b: FeedbackCreate): Promise<{ created: boolean; feedback: FeedbackView }> {
  const row = await repo.upsertFeedback(db, p.workspace_id, {
    id: newId('fb'),
    run_id: runId,
    key: b.key ?? p.key_id,
    rating: b.rating,
    comment: b.comment ?? null,
  });
  if (!row) throw notFound('run', 'id');
  const { inserted, ...f } = row;
  return { created: inserted, feedback: feedbackView(f) };
}

async function checkRun(db: Db, p: Principal, runId: string): Promise<void> {
  if (!(await runRepo.getRun(db, runId, p.workspace_id))) throw notFound('run', 'id');
}

export async function listFeedback(db: Db, p: Principal, runId: string, q: FeedbackListQuery) {
  await checkRun(db, p, runId);
  const pg = page(await repo.listFeedback(db, runId, q.limit + 1, q.after), q.limit);
  return { object: 'list' as const, ...pg, data: pg.data.map(feedbackView) };
}

/** For a run already known to be the caller's: two small queries (counts, newest items). */
export async function runFeedback(q: Queryable, runId: string, items: number): Promise<RunFeedback> {
  const counts = (await repo.summaries(q, [runId])).get(runId) ?? emptyFeedbackSummary();
  const rows = counts.count > 0 && items > 0 ? await repo.listFeedback(q, runId, items) : [];
  return { ...counts, items: rows.map(feedbackView) };
}

/** The dashboard's run page: undefined when the run is not the caller's (the page then shows none). */
export async function visibleRunFeedback(db: Db, p: Principal, runId: string, items: number): Promise<RunFeedback | undefined> {
  if (!(await runRepo.getRun(db, runId, p.workspace_id))) return undefined;
  return runFeedback(db, runId, items);
}

/** Counts for a page of runs (or an eval's case runs) in one aggregate query: no query per run. */
export async function feedbackCounts(q: Queryable, runIds: string[]): Promise<(runId: string) => FeedbackSummary> {
  const map = await repo.summaries(q, [...new Set(runIds)]);
  return (runId) => map.get(runId) ?? emptyFeedbackSummary();
}
