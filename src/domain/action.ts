// Action invocations (API.md 5): a tool call without a model, through the same gate as runs.
import { z } from 'zod';
import { metadataSchema } from './common';

export const actionCreateSchema = z.strictObject({
  tool: z.string().min(1).max(64),
  arguments: z.record(z.string(), z.unknown()).default({}),
  dry_run: z.boolean().default(false),
  wait: z.boolean().default(true),
  wait_timeout_seconds: z.number().int().min(1).max(600).default(60),
  metadata: metadataSchema.default({}),
});

export type ActionCreate = z.infer<typeof actionCreateSchema>;

/** What the action workflow reports and records. */
export interface ActionState {
  status: 'queued' | 'running' | 'waiting_approval' | 'completed' | 'failed' | 'canceled';
  result: unknown;
  error: { code: string; message: string } | null;
  approval_id: string | null;
  completed_at: string | null;
}
