// Run feedback (API.md 12): a rating of +1 or -1 and an optional comment on a run, one per `key` per run
// (a second one with the same key replaces the first), and the summary that run objects and eval results carry.
import { z } from 'zod';
import { cursorSchema } from './common';

/**
 * A lone surrogate (JSON "\ud800") is no Unicode text: a text column silently stores U+FFFD for it and the
 * audit record's jsonb refuses it (a 500 after the feedback was stored), so it is refused up front.
 */
const text = (min: number, max: number) =>
  z.string().min(min).max(max).refine((s) => !/\p{Surrogate}/u.test(s), 'must be well-formed Unicode (no lone surrogates)');

export const feedbackCreateSchema = z.strictObject({
  rating: z.union([z.literal(1), z.literal(-1)]),
  comment: text(0, 4000).optional(),
  /** Who gave it, e.g. an end user of the caller's app; default: the id of the API key that posts it. */
  key: text(1, 255).optional(),
});
export type FeedbackCreate = z.infer<typeof feedbackCreateSchema>;

export const feedbackListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: cursorSchema.optional(),
});
export type FeedbackListQuery = z.infer<typeof feedbackListQuerySchema>;

/** What a run object and an eval result row show: counts only (the run object adds its newest items). */
export interface FeedbackSummary {
  count: number;
  up: number;
  down: number;
}

export const emptyFeedbackSummary = (): FeedbackSummary => ({ count: 0, up: 0, down: 0 });

/** How many of the newest feedback items `GET /v1/runs/:id` embeds; the rest are in `/v1/runs/:id/feedback`. */
export const RUN_FEEDBACK_ITEMS = 5;
