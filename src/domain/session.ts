// Sessions (API.md 3): a conversation pinned to one agent version.
import { z } from 'zod';
import { cursorSchema, metadataSchema } from './common';
import { userContentSchema } from './run';

const reference = z.string().min(1).max(255);

export const sessionCreateSchema = z.strictObject({
  agent: z.string().min(1).max(64),
  title: z.string().max(500).optional(),
  metadata: metadataSchema.optional(),
  session_reference: reference.optional(),
  user_reference: reference.optional(),
  /** An environment's id or name (API.md 11): its tool overrides, allowed_tools and variables apply to every run. */
  environment: z.string().min(1).max(64).optional(),
  /** What a message posted while a run is active does (API.md 16): 409 `session_busy`, or queued behind it. */
  if_busy: z.enum(['reject', 'enqueue']).optional(),
});

export const SESSION_STATUSES = ['idle', 'running', 'waiting'] as const;

export const sessionListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: cursorSchema.optional(),
  agent: z.string().min(1).max(64).optional(),
  /** The same as `agent`, by id only (API.md 16). */
  agent_id: z.string().min(1).max(64).optional(),
  user_reference: reference.optional(),
  status: z.enum(SESSION_STATUSES).optional(),
});

export type SessionCreate = z.infer<typeof sessionCreateSchema>;
export type SessionListQuery = z.infer<typeof sessionListQuerySchema>;

const ifBusy = z.enum(['reject', 'enqueue']);

/** `GET /v1/sessions/:id/events` (API.md 16): a JSON page, or with SSE the live log. */
export const sessionEventsQuerySchema = z.object({
  /** JSON: the page starts after it (0, the default: from the start; `desc`: before it, 0 from the newest). SSE: replay after it. */
  after_seq: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  order: z.enum(['asc', 'desc']).default('asc'),
  include: z.enum(['deltas']).optional(),
  /** SSE: `1` replays the whole log first; without it (nor Last-Event-ID, nor after_seq) the stream tails from now. */
  replay: z.enum(['0', '1', 'true', 'false']).optional(),
});

/** `GET /v1/sessions/:id/events/stream`: always SSE, so no page size or order. */
export const sessionStreamQuerySchema = sessionEventsQuerySchema.pick({ after_seq: true, include: true, replay: true });

/** `POST /v1/sessions/:id/messages`: one user turn, answered with the session's events as they happen. */
export const sessionMessageSchema = z.strictObject({
  content: userContentSchema,
  /** While a run of the session is active; the session's own `if_busy` when omitted. */
  if_busy: ifBusy.optional(),
  metadata: metadataSchema.optional(),
});

/** `POST /v1/sessions/:id/events`: fire-and-forget user messages, which become one run's input. */
export const sessionEventsPostSchema = z.strictObject({
  events: z.array(z.strictObject({ type: z.literal('user.message'), content: userContentSchema })).min(1).max(100),
});

export const sessionCancelSchema = z.strictObject({ reason: z.string().max(1000).optional() });

export type SessionEventsQuery = z.infer<typeof sessionEventsQuerySchema>;
export type SessionMessage = z.infer<typeof sessionMessageSchema>;
export type SessionEventsPost = z.infer<typeof sessionEventsPostSchema>;
