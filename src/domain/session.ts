// Sessions (API.md 3): a conversation pinned to one agent version.
import { z } from 'zod';
import { cursorSchema, metadataSchema } from './common';

const reference = z.string().min(1).max(255);

export const sessionCreateSchema = z.strictObject({
  agent: z.string().min(1).max(64),
  title: z.string().max(500).optional(),
  metadata: metadataSchema.optional(),
  session_reference: reference.optional(),
  user_reference: reference.optional(),
  /** An environment's id or name (API.md 11): its tool overrides, allowed_tools and variables apply to every run. */
  environment: z.string().min(1).max(64).optional(),
});

export const sessionListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: cursorSchema.optional(),
  agent: z.string().min(1).max(64).optional(),
  user_reference: reference.optional(),
});

export type SessionCreate = z.infer<typeof sessionCreateSchema>;
export type SessionListQuery = z.infer<typeof sessionListQuerySchema>;
